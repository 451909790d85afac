using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using OnnxTransfer.Onnx;
using DataType = OnnxTransfer.Onnx.Proto.TensorProto.Types.DataType;

namespace OnnxTransfer.Tests.Onnx;

public class GraphEditorTests
{
    // x[N,3] -> Mul(w1) -> a -> Relu -> r ;  y[N,3] -> Add(w2) -> b. Outputs a-branch and b-branch.
    private static (OnnxModel Model, string A, string R, string B) TwoBranches()
    {
        var model = OnnxModel.Create();
        var g = new GraphBuilder(model.Graph);
        var x = g.Input("x", DataType.Float, [null, 3], ["N"]);
        var y = g.Input("y", DataType.Float, [null, 3], ["N"]);
        var a = g.Node("Mul", [x, g.Initializer("w1", [2f, -3f, 0.5f], 3)]);
        var r = g.Node("Relu", [a]);
        var b = g.Node("Add", [y, g.Initializer("w2", [1f, 1f, 1f], 3)]);
        g.Output(r, DataType.Float, [null, 3], ["N"]);
        g.Output(b, DataType.Float, [null, 3], ["N"]);
        model.Graph.ValueInfo.Add(GraphBuilder.ValueInfo(a, DataType.Float, [null, 3], ["N"]));
        model.Graph.ValueInfo.Add(GraphBuilder.ValueInfo(b, DataType.Float, [null, 3], ["N"]));
        return (model, a, r, b);
    }

    private static float[] Run(OnnxModel model, string output, params (string Name, float[] Data)[] inputs)
    {
        using var session = new InferenceSession(model.ToBytes());
        var feeds = inputs.Select(i => NamedOnnxValue.CreateFromTensor(i.Name, new DenseTensor<float>(i.Data, [i.Data.Length / 3, 3]))).ToList();
        using var results = session.Run(feeds, [output]);
        return results.First().AsEnumerable<float>().ToArray();
    }

    [Fact]
    public void Prune_keeps_only_what_the_outputs_need()
    {
        var (model, a, _, _) = TwoBranches();
        GraphEditor.SetOutputs(model.Graph, GraphEditor.DeclaredInfo(model.Graph, a)!.ToValueInfo());
        GraphEditor.Prune(model.Graph);

        Assert.Equal(["Mul"], model.Graph.Node.Select(n => n.OpType));
        Assert.Equal(["w1"], model.Graph.Initializer.Select(t => t.Name));
        Assert.Equal(["x"], model.Graph.Input.Select(i => i.Name));
        Assert.Equal([a], model.Graph.ValueInfo.Select(v => v.Name));

        float[] x = [1f, 2f, 4f, -1f, 0f, 2f];
        var expected = x.Select((v, i) => v * new[] { 2f, -3f, 0.5f }[i % 3]).ToArray();
        Assert.Equal(expected, Run(model, a, ("x", x)));
    }

    [Fact]
    public void Prune_can_keep_the_model_interface()
    {
        var (model, a, _, _) = TwoBranches();
        GraphEditor.SetOutputs(model.Graph, GraphEditor.DeclaredInfo(model.Graph, a)!.ToValueInfo());
        GraphEditor.Prune(model.Graph, keepInputs: true);
        Assert.Equal(["x", "y"], model.Graph.Input.Select(i => i.Name));
        Assert.Equal(["w1"], model.Graph.Initializer.Select(t => t.Name));
    }

    [Fact]
    public void Exposed_intermediate_is_typed_from_value_info_and_runs()
    {
        var (model, a, _, b) = TwoBranches();
        GraphEditor.ExposeOutput(model.Graph, a);
        var exposed = TensorInfo.FromValueInfo(model.Graph.Output.Single(o => o.Name == a));
        Assert.Equal(DataType.Float, exposed.ElementType);
        Assert.Equal("[N,3]", exposed.ShapeText);

        float[] x = [1f, 2f, 4f], y = [0f, 0f, 0f];
        using var session = new InferenceSession(model.ToBytes());
        var feeds = new[] { NamedOnnxValue.CreateFromTensor("x", new DenseTensor<float>(x, [1, 3])), NamedOnnxValue.CreateFromTensor("y", new DenseTensor<float>(y, [1, 3])) };
        using var results = session.Run(feeds, [a, b]);
        Assert.Equal([2f, -6f, 2f], results.First(r => r.Name == a).AsEnumerable<float>().ToArray());
        Assert.Equal([1f, 1f, 1f], results.First(r => r.Name == b).AsEnumerable<float>().ToArray());
    }

    [Fact]
    public void Exposing_an_unknown_tensor_names_it()
    {
        var (model, _, _, _) = TwoBranches();
        var e = Assert.Throws<OnnxFormatException>(() => GraphEditor.ExposeOutput(model.Graph, "no_such_tensor"));
        Assert.Contains("no_such_tensor", e.Message);
    }

    [Fact]
    public void Rename_rewires_consumers_and_outputs()
    {
        var (model, a, r, _) = TwoBranches();
        GraphEditor.RenameTensor(model.Graph, a, "scaled");
        GraphEditor.RenameTensor(model.Graph, r, "relu_out");
        Assert.Contains(model.Graph.Node, n => n.OpType == "Relu" && n.Input[0] == "scaled" && n.Output[0] == "relu_out");
        Assert.Contains(model.Graph.Output, o => o.Name == "relu_out");
        Assert.Contains(model.Graph.ValueInfo, v => v.Name == "scaled");
        Assert.Throws<InvalidOperationException>(() => GraphEditor.RenameTensor(model.Graph, "scaled", "x"));
        Assert.Equal([2f, 0f, 2f], Run(model, "relu_out", ("x", [1f, 2f, 4f]), ("y", [0f, 0f, 0f])));
    }
}
