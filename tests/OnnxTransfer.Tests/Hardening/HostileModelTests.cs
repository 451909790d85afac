using OnnxTransfer.Backbones;
using OnnxTransfer.Inference;
using OnnxTransfer.Onnx;
using static OnnxTransfer.Tests.Hardening.HostileInputs;
using DataType = OnnxTransfer.Onnx.Proto.TensorProto.Types.DataType;

namespace OnnxTransfer.Tests.Hardening;

/// <summary>Files that are not (usable) ONNX models, through every door: OnnxModel.Load, inspect, cut, TransferModel.Load, predict.</summary>
public class HostileModelTests
{
    public static TheoryData<string> NotModels =>
    [
        "zero-byte file", "random bytes", "truncated protobuf", "text file", "folder named .onnx", "FIFO named .onnx",
        "character device", "graph with no outputs or nodes",
    ];

    private static string Make(TempDir dir, string kind)
    {
        var path = dir.File("model.onnx");
        switch (kind)
        {
            case "zero-byte file": File.WriteAllBytes(path, []); break;
            case "random bytes":
                var bytes = new byte[4096];
                new Random(17).NextBytes(bytes);
                File.WriteAllBytes(path, bytes);
                break;
            case "truncated protobuf":
                var whole = Classifier().ToBytes();
                File.WriteAllBytes(path, whole[..(whole.Length / 2)]);
                break;
            case "text file": File.WriteAllText(path, "<html>404 not found</html>\n"); break;
            case "folder named .onnx": Directory.CreateDirectory(path); break;
            case "FIFO named .onnx": Fifo(path); break;
            case "character device": File.CreateSymbolicLink(path, "/dev/zero"); break;
            case "graph with no outputs or nodes":
                var empty = OnnxModel.Create();
                new GraphBuilder(empty.Graph).Input("x", DataType.Float, [1, 3], null);
                empty.Save(path);
                break;
            default: throw new ArgumentException(kind);
        }
        return path;
    }

    private static string? FifoOf(TempDir dir, string kind) => kind.StartsWith("FIFO") ? dir.File("model.onnx") : null;

    [Theory, MemberData(nameof(NotModels))]
    public void OnnxModel_Load_refuses_it_in_one_line(string kind)
    {
        using var dir = new TempDir();
        var path = Make(dir, kind);
        var message = Refused(() => OnnxModel.Load(path), fifoToRelease: FifoOf(dir, kind));
        Assert.Contains("model.onnx", message);
    }

    [Theory, MemberData(nameof(NotModels))]
    public void TransferModel_Load_refuses_it_in_one_line(string kind)
    {
        using var dir = new TempDir();
        var path = Make(dir, kind);
        var message = Refused(() => TransferModel.Load(path).Dispose(), fifoToRelease: FifoOf(dir, kind));
        Assert.Contains("model.onnx", message);
    }

    [Theory, MemberData(nameof(NotModels))]
    public void Inspect_exits_1_with_one_line(string kind)
    {
        using var dir = new TempDir();
        var path = Make(dir, kind);
        var (code, _, error) = Within(() => RunCli("inspect", path), fifoToRelease: FifoOf(dir, kind));
        Assert.Equal(1, code);
        Assert.Contains("model.onnx", error);
    }

    /// <summary>Valid ONNX that is not a usable exported classifier.</summary>
    [Theory]
    [InlineData("input is int64, metadata says float pixels", "int64")]
    [InlineData("input has rank 2", "rank2")]
    [InlineData("input size contradicts the preprocessing", "size")]
    [InlineData("huge declared input dims", "huge")]
    [InlineData("no label output", "nolabel")]
    [InlineData("a head alone (Features input kind)", "features")]
    public void Exported_models_that_do_not_fit_are_refused(string kind, string variant)
    {
        _ = kind;
        using var dir = new TempDir();
        var path = dir.File("model.onnx");
        var model = variant switch
        {
            "int64" => Classifier(inputType: DataType.Int64),
            "rank2" => Classifier(inputDims: [null, 3]),
            "size" => Classifier(inputDims: [null, 3, 16, 16]),
            "huge" => Classifier(inputDims: [null, 3, 1L << 40, 1L << 40]),
            "features" => Classifier(new Dictionary<string, string?> { ["onnxtransfer.input_kind"] = "Features" }),
            _ => Classifier(),
        };
        if (variant == "nolabel") GraphEditor.SetOutputs(model.Graph, model.Graph.Output[0]);
        model.Save(path);

        var message = Refused(() => TransferModel.Load(path).Dispose());
        Assert.Contains("model.onnx", message);
    }

    [Fact]
    public void Predict_on_a_FIFO_named_wav_reports_it_and_does_not_hang()
    {
        using var dir = new TempDir();
        Classifier().Save(dir.File("model.onnx"));
        var fifo = Fifo(dir.File("clip.wav"));

        var (code, text, _) = Within(() => RunCli("predict", "--model", dir.File("model.onnx"), fifo, "--json"), fifoToRelease: fifo);

        Assert.Equal(1, code); // nothing labelled
        Assert.Contains("clip.wav", text);
        Assert.Contains("FIFO", text);
    }

    [Fact]
    public void Predict_in_the_library_on_a_FIFO_image_is_a_clear_error()
    {
        using var dir = new TempDir();
        Classifier().Save(dir.File("model.onnx"));
        var fifo = Fifo(dir.File("photo.png"));
        using var model = TransferModel.Load(dir.File("model.onnx"));

        var message = Refused(() => model.Predict(fifo), fifoToRelease: fifo);

        Assert.Contains("photo.png", message);
        Assert.Contains("not a regular file", message);
    }

    /// <summary>A model whose feature size follows a free input dimension ([N,C]) must not be measured as 1-d.</summary>
    [Fact]
    public void A_symbolic_feature_dimension_is_not_read_as_1()
    {
        var model = OnnxModel.Create();
        var g = new GraphBuilder(model.Graph);
        var x = g.Input("x", DataType.Float, [null, null], ["N", "C"]);
        g.Alias(g.Node("Relu", [x]), "features_out");
        g.Output("features_out", DataType.Float, [null, null], ["N", "C"]);

        var info = TensorShapeProbe.Infer(model, "features_out");
        Assert.Null(info.Shape![1].Value);

        var message = Refused(() => BackboneCutter.Plan(model, new CutOptions { At = "features_out" }));
        Assert.Contains("not fixed", message);
        Assert.Contains("free dimension", message);
    }

    [Fact]
    public void A_fixed_feature_dimension_behind_a_free_input_size_is_still_measured()
    {
        // x [N,3,H,W] → global pool → [N,3]: the 3 does not depend on H,W and stays a fixed size.
        var model = OnnxModel.Create();
        var g = new GraphBuilder(model.Graph);
        var x = g.Input("x", DataType.Float, [null, 3, null, null], ["N", "", "H", "W"]);
        var pooled = g.Node("GlobalAveragePool", [x]);
        g.Alias(g.Node("Flatten", [pooled], OnnxAttribute.Int("axis", 1)), "f");
        g.Output("f", DataType.Float, null);

        var plan = BackboneCutter.Plan(model, new CutOptions { At = "f" });

        Assert.Equal(3, plan.Dimension);
    }
}
