using System.CommandLine;
using System.Text.Json;
using OnnxTransfer.Backbones;
using OnnxTransfer.Cli;
using OnnxTransfer.Onnx;

namespace OnnxTransfer.Tests.Backbones;

public class InspectAndCutCommandTests
{
    private static (int Code, string Output) Invoke(params string[] args)
    {
        var output = new StringWriter();
        var config = new InvocationConfiguration { Output = output, Error = new StringWriter(), EnableDefaultExceptionHandler = false };
        var code = CliApp.Build().Parse(args).Invoke(config);
        return (code, output.ToString());
    }

    [Fact]
    public void Inspect_json_ranks_the_pooled_tensor_first()
    {
        var (code, text) = Invoke("inspect", SharedAssets.MobileNetV2Int8, "--json");
        Assert.Equal(0, code);
        using var doc = JsonDocument.Parse(text);
        var root = doc.RootElement;
        Assert.True(root.GetProperty("quantized").GetBoolean());
        Assert.Equal(12, root.GetProperty("opsets").GetProperty("ai.onnx").GetInt64());
        var model = OnnxModel.Load(SharedAssets.MobileNetV2Int8);
        Assert.Equal(model.Graph.Node.Count, root.GetProperty("node_count").GetInt32());
        Assert.Equal(model.Graph.Node.Count(n => n.OpType == "QLinearConv"), root.GetProperty("ops").GetProperty("QLinearConv").GetInt32());
        var input = root.GetProperty("inputs")[0];
        Assert.Equal("input", input.GetProperty("name").GetString());
        Assert.Equal(224, input.GetProperty("shape")[3].GetInt64());

        var first = root.GetProperty("feature_candidates")[0];
        Assert.Equal("472_quantized", first.GetProperty("tensor").GetString());
        Assert.Equal(1280, first.GetProperty("dimension").GetInt64());
        Assert.Equal("uint8", first.GetProperty("element_type").GetString());
        Assert.True(first.GetProperty("quantized").GetBoolean());
        Assert.Equal("464_scale", first.GetProperty("scale").GetString());
    }

    [Fact]
    public void Inspect_tables_name_the_candidates()
    {
        var (code, text) = Invoke("inspect", SharedAssets.MobileNetV2Int8);
        Assert.Equal(0, code);
        Assert.Contains("QLinearMatMul", text);
        Assert.Contains("1280", text);
        Assert.Contains("quantized", text);
    }

    [Fact]
    public void Cut_writes_a_features_model_and_says_what_it_picked()
    {
        using var dir = new TempDir();
        var path = dir.File("features.onnx");
        var (code, text) = Invoke("cut", SharedAssets.MobileNetV2Int8, "--out", path, "--pool", "avg");
        Assert.Equal(0, code);
        Assert.Contains("627_quantized", text); // auto + pool avg: the best candidate that needs pooling
        Assert.Contains("1280]", text);
        var cut = OnnxModel.Load(path);
        var output = TensorInfo.FromValueInfo(Assert.Single(cut.Graph.Output));
        Assert.Equal(1280, output.Shape![1].Value);
        Assert.Equal("avg", cut.Metadata[BackboneCutter.CutPoolKey]);
        Assert.Contains(cut.Graph.Node, n => n.OpType == "GlobalAveragePool");
    }

    [Fact]
    public void Cut_at_a_missing_tensor_fails_with_the_name()
    {
        using var dir = new TempDir();
        var e = Assert.Throws<OnnxFormatException>(() => Invoke("cut", SharedAssets.MobileNetV2Int8, "--out", dir.File("f.onnx"), "--at", "does_not_exist"));
        Assert.Contains("'does_not_exist'", e.Message);
        Assert.Contains("472_quantized", e.Message);
        Assert.False(File.Exists(dir.File("f.onnx")));
    }
}
