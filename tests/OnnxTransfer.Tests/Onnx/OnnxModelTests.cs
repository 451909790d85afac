using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using OnnxTransfer.Onnx;
using DataType = OnnxTransfer.Onnx.Proto.TensorProto.Types.DataType;

namespace OnnxTransfer.Tests.Onnx;

public class OnnxModelTests
{
    [Fact]
    public void Loads_the_shared_mobilenet_and_round_trips_losslessly()
    {
        var path = SharedAssets.MobileNetV2Int8;
        var model = OnnxModel.Load(path);
        Assert.Equal(12, model.OpsetVersion());
        Assert.Contains(model.Graph.Node, n => n.OpType == "QLinearMatMul");
        // Repeated scalars are re-encoded packed (proto3), so compare messages, not bytes.
        var again = OnnxModel.FromBytes(model.ToBytes());
        Assert.Equal(model.Proto, again.Proto);
        Assert.Equal(model.Graph.Initializer.Count, again.Graph.Initializer.Count);
    }

    [Fact]
    public void Truncated_file_gives_one_line_error_naming_the_file()
    {
        using var dir = new TempDir();
        var bytes = File.ReadAllBytes(SharedAssets.MobileNetV2Int8);
        var truncated = dir.File("truncated.onnx");
        File.WriteAllBytes(truncated, bytes[..(bytes.Length / 3)]);
        var e = Assert.Throws<OnnxFormatException>(() => OnnxModel.Load(truncated));
        Assert.Contains("truncated.onnx", e.Message);
        Assert.DoesNotContain('\n', e.Message);
    }

    [Theory]
    [InlineData("text.onnx", "this is plainly not a protobuf model\n")]
    [InlineData("empty.onnx", "")]
    public void Non_model_files_are_rejected_clearly(string name, string content)
    {
        using var dir = new TempDir();
        File.WriteAllText(dir.File(name), content);
        var e = Assert.Throws<OnnxFormatException>(() => OnnxModel.Load(dir.File(name)));
        Assert.Contains(name, e.Message);
        Assert.DoesNotContain('\n', e.Message);
    }

    [Fact]
    public void Missing_file_is_a_clear_error()
    {
        var e = Assert.Throws<OnnxFormatException>(() => OnnxModel.Load("/nonexistent/model.onnx"));
        Assert.Contains("not found", e.Message);
    }

    [Fact]
    public void Built_graph_runs_in_onnx_runtime_and_external_data_is_resolved()
    {
        using var dir = new TempDir();
        var model = OnnxModel.Create();
        var g = new GraphBuilder(model.Graph);
        var x = g.Input("x", DataType.Float, [null, 3], ["batch"]);
        var w = g.Initializer("w", [1f, 2f, 3f], 3);
        var y = g.Node("Mul", [x, w]);
        g.Alias(y, "y");
        g.Output("y", DataType.Float, [null, 3], ["batch"]);

        // Move the weight out of the file, as large models do.
        var init = model.Graph.Initializer[0];
        File.WriteAllBytes(dir.File("weights.bin"), [0, 0, 0, 0, .. init.RawData.ToByteArray()]);
        init.RawData = Google.Protobuf.ByteString.Empty;
        init.DataLocation = OnnxTransfer.Onnx.Proto.TensorProto.Types.DataLocation.External;
        init.ExternalData.Add(new OnnxTransfer.Onnx.Proto.StringStringEntryProto { Key = "location", Value = "weights.bin" });
        init.ExternalData.Add(new OnnxTransfer.Onnx.Proto.StringStringEntryProto { Key = "offset", Value = "4" });
        init.ExternalData.Add(new OnnxTransfer.Onnx.Proto.StringStringEntryProto { Key = "length", Value = "12" });
        model.Save(dir.File("m.onnx"));

        var loaded = OnnxModel.Load(dir.File("m.onnx"));
        Assert.Equal([1f, 2f, 3f], OnnxTensor.ToFloats(loaded.Graph.Initializer[0]));

        using var session = new InferenceSession(loaded.ToBytes());
        var input = new DenseTensor<float>(new[] { 2f, 2f, 2f, -1f, 0f, 1f }, [2, 3]);
        using var results = session.Run([NamedOnnxValue.CreateFromTensor("x", input)]);
        Assert.Equal([2f, 4f, 6f, -1f, 0f, 3f], results.First().AsEnumerable<float>().ToArray());
    }

    [Fact]
    public void Unique_names_never_collide_with_existing_ones()
    {
        var model = OnnxModel.Create();
        var g = new GraphBuilder(model.Graph);
        var a = g.UniqueName("t");
        var b = g.UniqueName("t");
        var c = g.UniqueName("t_1");
        Assert.Equal(3, new[] { a, b, c }.Distinct().Count());
        Assert.Throws<InvalidOperationException>(() => g.ReserveName(a));
    }
}
