using OnnxTransfer.Inference;
using OnnxTransfer.Onnx;
using OnnxTransfer.WakeWords;
using static OnnxTransfer.Tests.Hardening.HostileInputs;
using DataType = OnnxTransfer.Onnx.Proto.TensorProto.Types.DataType;

namespace OnnxTransfer.Tests.Hardening;

/// <summary>Exported-model metadata that is damaged, foreign or hostile: a one-line error naming the file.</summary>
public class ModelMetadataTests
{
    [Theory]
    [InlineData("labels with a null", "onnxtransfer.labels", "[\"ant\",null,\"wasp\"]", "labels")]
    [InlineData("labels with an empty name", "onnxtransfer.labels", "[\"ant\",\"\",\"wasp\"]", "labels")]
    [InlineData("labels not JSON", "onnxtransfer.labels", "ant,bee,wasp", "labels")]
    [InlineData("labels are numbers", "onnxtransfer.labels", "[1,2,3]", "labels")]
    [InlineData("labels are an object", "onnxtransfer.labels", "{\"0\":\"ant\"}", "labels")]
    [InlineData("labels JSON null", "onnxtransfer.labels", "null", "labels")]
    [InlineData("labels empty array", "onnxtransfer.labels", "[]", "labels")]
    [InlineData("labels missing", "onnxtransfer.labels", null, "labels")]
    [InlineData("labels fewer than the outputs", "onnxtransfer.labels", "[\"ant\"]", "")]
    [InlineData("unknown input kind", "onnxtransfer.input_kind", "Video", "input_kind")]
    [InlineData("numeric input kind", "onnxtransfer.input_kind", "7", "input_kind")]
    [InlineData("preprocessing with an overflowing integer", "onnxtransfer.preprocessing", "resize=99999999999,crop=8", "preprocessing")]
    [InlineData("preprocessing with crop 0", "onnxtransfer.preprocessing", "resize=8,crop=0x0", "preprocessing")]
    [InlineData("preprocessing with a negative resize", "onnxtransfer.preprocessing", "resize=-8,crop=8", "preprocessing")]
    [InlineData("preprocessing with a huge crop", "onnxtransfer.preprocessing", "resize=100000,crop=100000", "preprocessing")]
    [InlineData("preprocessing with NaN scale", "onnxtransfer.preprocessing", "resize=8,crop=8,scale=NaN", "preprocessing")]
    [InlineData("preprocessing with infinite std", "onnxtransfer.preprocessing", "resize=8,crop=8,std=1/0/1", "preprocessing")]
    [InlineData("preprocessing gibberish", "onnxtransfer.preprocessing", "%%%", "preprocessing")]
    [InlineData("preprocessing missing", "onnxtransfer.preprocessing", null, "preprocessing")]
    public void TransferModel_Load_refuses_bad_metadata(string kind, string key, string? value, string named)
    {
        _ = kind;
        using var dir = new TempDir();
        var path = dir.File("model.onnx");
        // Free image sizes, so the preprocessing alone decides what is allocated.
        Classifier(new Dictionary<string, string?> { [key] = value }, inputDims: [null, 3, null, null]).Save(path);

        var message = Refused(() =>
        {
            using var model = TransferModel.Load(path);
            using var bitmap = new SkiaSharp.SKBitmap(8, 8);
            model.Predict(bitmap); // labels fewer than the outputs only show when it runs
        });

        Assert.Contains("model.onnx", message);
        Assert.Contains(named, message);
    }

    [Fact]
    public void Good_metadata_loads()
    {
        using var dir = new TempDir();
        Classifier().Save(dir.File("model.onnx"));
        using var model = TransferModel.Load(dir.File("model.onnx"));
        Assert.Equal(Labels, model.Labels);
    }

    [Theory]
    [InlineData("speech window of 2^20 embeddings", 1 << 20)]
    [InlineData("speech window of 0 embeddings", 0)]
    public void Speech_models_with_impossible_windows_are_refused(string kind, long window)
    {
        _ = kind;
        using var dir = new TempDir();
        var path = dir.File("speech.onnx");
        var model = SpeechLike(window, "score");
        model.SetMetadata("onnxtransfer.labels", "[\"other\",\"hey\"]");
        model.SetMetadata("onnxtransfer.input_kind", "SpeechEmbeddings");
        model.SetMetadata("onnxtransfer.front_end", "openwakeword");
        model.Save(path);

        var message = Refused(() => TransferModel.Load(path).Dispose());
        Assert.Contains("speech.onnx", message);
    }

    [Theory]
    [InlineData("wake-word labels []", "onnxtransfer.labels", "[]")]
    [InlineData("wake-word labels [null]", "onnxtransfer.labels", "[null]")]
    [InlineData("wake-word threshold not a number", "onnxtransfer.wakeword.threshold", "high")]
    [InlineData("wake-word input kind of an image model", "onnxtransfer.input_kind", "ImageTensor")]
    public void Wake_word_models_with_bad_metadata_are_refused(string kind, string key, string value)
    {
        _ = kind;
        using var dir = new TempDir();
        var path = dir.File("hey.onnx");
        var model = SpeechLike(16, WakeWordTrainer.ScoreName);
        model.SetMetadata("onnxtransfer.labels", "[\"other\",\"hey\"]");
        model.SetMetadata("onnxtransfer.input_kind", "SpeechEmbeddings");
        model.SetMetadata(key == "onnxtransfer.wakeword.threshold" ? WakeWordTrainer.ThresholdKey : key, value);
        model.Save(path);

        var message = Refused(() => new WakeWordModel(path).Dispose());
        Assert.Contains("hey.onnx", message);
    }

    [Fact]
    public void Wake_word_model_that_is_a_FIFO_does_not_hang()
    {
        using var dir = new TempDir();
        var fifo = Fifo(dir.File("hey.onnx"));
        var message = Refused(() => new WakeWordModel(fifo).Dispose(), fifoToRelease: fifo);
        Assert.Contains("FIFO", message);
    }

    /// <summary>x float [N,window,96] → mean over both axes → [N,1] named <paramref name="output"/>.</summary>
    private static OnnxModel SpeechLike(long window, string output)
    {
        var model = OnnxModel.Create();
        var g = new GraphBuilder(model.Graph);
        var x = g.Input("embeddings", DataType.Float, [null, window, 96], ["N", "", ""]);
        var mean = g.Node("ReduceMean", [x], OnnxAttribute.Ints("axes", 2), OnnxAttribute.Int("keepdims", 0));
        var score = g.Node("ReduceMean", [mean], OnnxAttribute.Ints("axes", 1), OnnxAttribute.Int("keepdims", 1));
        g.Alias(score, output);
        g.Output(output, DataType.Float, [null, 1], ["N", ""]);
        return model;
    }
}
