using OnnxTransfer.Onnx;
using DataType = OnnxTransfer.Onnx.Proto.TensorProto.Types.DataType;

namespace OnnxTransfer.Tests.Onnx;

public class TensorShapeProbeTests
{
    [Fact]
    public void Declared_value_info_is_used_as_is()
    {
        var model = OnnxModel.Create();
        var g = new GraphBuilder(model.Graph);
        var x = g.Input("x", DataType.Float, [null, 4], ["batch"]);
        var r = g.Node("Relu", [x]);
        g.Alias(r, "y");
        g.Output("y", DataType.Float, [null, 4], ["batch"]);
        // Declared with a distinctive symbol: if the probe ran the model instead, it could not know "rows".
        model.Graph.ValueInfo.Add(GraphBuilder.ValueInfo(r, DataType.Float, [null, 4], ["rows"]));
        var info = TensorShapeProbe.Infer(model, r);
        Assert.Equal("[rows,4]", info.ShapeText);
    }

    [Fact]
    public void Data_dependent_shape_is_measured_on_a_dummy_batch_with_symbolic_batch()
    {
        // Reshape by a shape that is a graph input: no static inference can know the result's shape.
        // The dummy int64 input is zeros, and Reshape's 0 means "copy that dimension", so it is [N,3,2].
        var model = OnnxModel.Create();
        var g = new GraphBuilder(model.Graph);
        var x = g.Input("x", DataType.Float, [null, 3, 2], ["batch"]);
        var shape = g.Input("shape", DataType.Int64, [3]);
        var reshaped = g.Node("Reshape", [x, shape]);
        var flat = g.Node("Flatten", [reshaped], OnnxAttribute.Int("axis", 1));
        g.Alias(flat, "y");
        g.Output("y", DataType.Float, null);

        var infos = TensorShapeProbe.Infer(model, [reshaped, flat, "x"]);
        Assert.Equal(DataType.Float, infos[reshaped].ElementType);
        Assert.Equal("[batch,3,2]", infos[reshaped].ShapeText);
        Assert.Equal("[batch,6]", infos[flat].ShapeText);
        Assert.Equal(6, infos[flat].ElementsPerItem);
        Assert.Equal("[batch,3,2]", infos["x"].ShapeText);
    }

    [Fact]
    public void Unknown_tensor_is_a_clear_error()
    {
        var model = OnnxModel.Create();
        var g = new GraphBuilder(model.Graph);
        var x = g.Input("x", DataType.Float, [1, 2]);
        g.Alias(x, "y");
        g.Output("y", DataType.Float, [1, 2]);
        var e = Assert.Throws<OnnxFormatException>(() => TensorShapeProbe.Infer(model, "ghost"));
        Assert.Contains("'ghost'", e.Message);
    }
}
