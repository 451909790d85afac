using Microsoft.ML.OnnxRuntime;
using OnnxTransfer.Export;
using OnnxTransfer.Imaging;
using OnnxTransfer.Inference;
using OnnxTransfer.Onnx;
using OnnxTransfer.Tests.Export;
using SkiaSharp;
using Xunit.Abstractions;
using OnnxTransfer.Training.Heads;
using ModelMetadata = OnnxTransfer.Export.ModelMetadata;

namespace OnnxTransfer.Tests.Inference;

[Collection(ExportCollection.Name)]
public class TransferModelTests(ExportFixture fx, ITestOutputHelper log)
{
    [Fact]
    public void Predict_equals_the_backbone_and_head_run_separately()
    {
        using var model = TransferModel.Load(fx.FloatModelPath);
        using var head = HeadModel.Load(fx.HeadDir);
        var expected = head.PredictProbabilities(fx.Features(fx.TestImages));
        for (var i = 0; i < fx.TestImages.Length; i++)
        {
            var p = model.Predict(fx.TestImages[i]);
            Assert.Equal(["ants", "bees"], p.Labels);
            Assert.True(Math.Abs(expected[2 * i] - p.Probabilities["ants"]) <= 1e-5);
            Assert.True(Math.Abs(expected[2 * i + 1] - p.Probabilities["bees"]) <= 1e-5);
            Assert.Equal(expected[2 * i + 1] > expected[2 * i] ? "bees" : "ants", p.Label);
            Assert.Equal(p.Values[p.Index], p.Score);
        }
    }

    [Fact]
    public void Path_bytes_stream_and_bitmap_give_the_same_prediction()
    {
        using var model = TransferModel.Load(fx.FloatModelPath);
        var path = fx.TestImages[4];
        var fromPath = model.Predict(path);
        var fromBytes = model.Predict(File.ReadAllBytes(path));
        using var stream = File.OpenRead(path);
        var fromStream = model.Predict(stream);
        using var bitmap = SKBitmap.Decode(path);
        var fromBitmap = model.Predict(bitmap);
        Assert.Equal(fromPath.Values, fromBytes.Values);
        Assert.Equal(fromPath.Values, fromStream.Values);
        // A bitmap is decoded by the caller (full size, no scaled decoding): same pixels for this small JPEG.
        Assert.True(MaxAbsDiff(fromPath.Values, fromBitmap.Values) <= 1e-5, $"bitmap differs by {MaxAbsDiff(fromPath.Values, fromBitmap.Values)}");
        Assert.Equal(fromPath.Label, fromBitmap.Label);
    }

    [Fact]
    public void Uint8_model_is_fed_the_rounded_crop()
    {
        using var model = TransferModel.Load(fx.BytesModelPath);
        Assert.Equal(ModelInputKind.ImageBytes, model.InputKind);
        var image = fx.TestImages[1];
        // The crop computed here: same resampling, identity normalisation, RGB HWC, rounded half away from zero.
        var identity = new ImagePreprocessor(fx.Preprocessing with { Scale = 1, Mean = [0, 0, 0], Std = [1, 1, 1], Layout = TensorLayout.Nhwc });
        var scratch = new float[224 * 224 * 3];
        using (var decoded = new ImageDecoder().Decode(image, fx.Preprocessing)) identity.Process(decoded, scratch);
        var bytes = scratch.Select(v => (byte)Math.Clamp(Math.Round(v, MidpointRounding.AwayFromZero), 0, 255)).ToArray();
        Assert.Equal(bytes.Select(b => (float)b), model.PreprocessFile(image));

        using var session = new InferenceSession(fx.BytesModelPath);
        using var x = OrtValue.CreateTensorValueFromMemory(bytes, [1, 224, 224, 3]);
        using var run = new RunOptions();
        using var r = session.Run(run, [PreprocessingGraph.InputName], [x], [ModelExporter.ProbabilitiesOutput]);
        Assert.Equal(r[0].GetTensorDataAsSpan<float>().ToArray(), model.Predict(image).Values);
    }

    [Fact]
    public void Batch_equals_one_by_one_and_files_report_bad_items_in_place()
    {
        using var model = TransferModel.Load(fx.FloatModelPath);
        var single = fx.TestImages.Select(model.Predict).ToArray();
        var batch = model.PredictBatch(fx.TestImages);
        Assert.Equal(single.Length, batch.Count);
        for (var i = 0; i < single.Length; i++)
            Assert.True(MaxAbsDiff(single[i].Values, batch[i].Values) <= 1e-5);

        var bad = Path.Combine(fx.NewFolder("bad"), "corrupt.jpg");
        File.WriteAllBytes(bad, [0xFF, 0xD8, 0xFF, 0xE0, 1, 2, 3, 4, 5]);
        var files = model.PredictFiles([fx.TestImages[0], bad, fx.TestImages[1]], batchSize: 2).ToArray();
        Assert.Equal([fx.TestImages[0], bad, fx.TestImages[1]], files.Select(f => f.Path));
        Assert.True(files[0].Succeeded && files[2].Succeeded);
        Assert.False(files[1].Succeeded);
        Assert.Contains("corrupt.jpg", files[1].Error);
        Assert.Equal(single[1].Values, files[2].Prediction!.Values);

        var e = Assert.ThrowsAny<OnnxTransferException>(() => model.PredictBatch([fx.TestImages[0], bad]));
        Assert.Contains("corrupt.jpg", e.Message);
    }

    [Fact]
    public async Task Concurrent_predictions_equal_sequential_ones()
    {
        using var model = TransferModel.Load(fx.FloatModelPath);
        var images = fx.TestImages;
        var sequential = images.Select(model.Predict).ToArray();
        var tasks = Enumerable.Range(0, 8).Select(t => Task.Run(() =>
            Enumerable.Range(0, images.Length).Select(k => model.Predict(images[(k + t) % images.Length])).ToArray())).ToArray();
        var results = await Task.WhenAll(tasks);
        for (var t = 0; t < results.Length; t++)
            for (var k = 0; k < images.Length; k++)
                Assert.True(MaxAbsDiff(sequential[(k + t) % images.Length].Values, results[t][k].Values) <= 1e-6);

        var asyncResult = await model.PredictAsync(images[2]);
        Assert.Equal(sequential[2].Values, asyncResult.Values);
        await using var stream = File.OpenRead(images[3]);
        Assert.Equal(sequential[3].Values, (await model.PredictAsync(stream)).Values);
        var asyncBatch = await model.PredictBatchAsync(images);
        Assert.Equal(sequential.Select(p => p.Label), asyncBatch.Select(p => p.Label));
    }

    [Fact]
    public void A_model_with_a_fixed_batch_size_runs_batches_in_chunks()
    {
        // The same classifier with its input batch fixed to 1 (as some zoo models are): PredictBatch must split.
        var model = OnnxModel.Load(fx.FloatModelPath);
        model.Graph.Input[0].Type.TensorType.Shape.Dim[0].ClearDimParam();
        model.Graph.Input[0].Type.TensorType.Shape.Dim[0].DimValue = 1;
        foreach (var o in model.Graph.Output) { o.Type.TensorType.Shape.Dim[0].ClearDimParam(); o.Type.TensorType.Shape.Dim[0].DimValue = 1; }
        var path = Path.Combine(fx.NewFolder("fixed"), "fixed.onnx");
        model.Save(path);
        using var fixedBatch = TransferModel.Load(path);
        using var dynamic = TransferModel.Load(fx.FloatModelPath);
        var a = fixedBatch.PredictBatch(fx.TestImages[..3]);
        var b = dynamic.PredictBatch(fx.TestImages[..3]);
        for (var i = 0; i < 3; i++) Assert.True(MaxAbsDiff(a[i].Values, b[i].Values) <= 1e-5);
    }

    [Fact]
    public void A_model_not_exported_by_OnnxTransfer_is_refused_with_a_clear_message()
    {
        var e = Assert.ThrowsAny<OnnxTransferException>(() => TransferModel.Load(SharedAssets.MobileNetV2Int8));
        Assert.Contains("mobilenetv2-12-int8.onnx", e.Message);
        Assert.Contains("not exported by OnnxTransfer", e.Message);

        var notOnnx = Path.Combine(fx.NewFolder("notonnx"), "model.onnx");
        File.WriteAllText(notOnnx, "this is not a model");
        var e2 = Assert.ThrowsAny<OnnxTransferException>(() => TransferModel.Load(notOnnx));
        Assert.Contains("model.onnx", e2.Message);
        Assert.DoesNotContain('\n', e2.Message);
        log.WriteLine(e.Message + "\n" + e2.Message);

        var missing = Assert.ThrowsAny<OnnxTransferException>(() => TransferModel.Load(notOnnx + ".missing"));
        Assert.Contains("not found", missing.Message);
    }

    [Fact]
    public void Speech_models_without_a_front_end_and_feature_models_are_refused_with_the_fix()
    {
        var model = OnnxModel.Load(fx.FloatModelPath);
        var meta = ModelMetadata.Read(model);
        var dir = fx.NewFolder("kinds");
        foreach (var (kind, word) in new[] { (ModelInputKind.SpeechEmbeddings, "front end"), (ModelInputKind.Features, "HeadModel") })
        {
            (meta with { InputKind = kind }).WriteTo(model);
            var path = Path.Combine(dir, kind + ".onnx");
            model.Save(path);
            var e = Assert.ThrowsAny<OnnxTransferException>(() => TransferModel.Load(path));
            Assert.Contains(word, e.Message);
        }
    }

    [Fact]
    public void Top_k_is_sorted_and_matches_the_probabilities()
    {
        var p = new Prediction(["a", "b", "c", "d"], [0.1f, 0.4f, 0.2f, 0.3f], 1);
        Assert.Equal([new LabelScore("b", 0.4f), new LabelScore("d", 0.3f)], p.Top(2));
        Assert.Equal(4, p.Top(10).Count);
        Assert.Equal("b", p.Label);
        Assert.Equal(0.2f, p.Probabilities["c"]);
        Assert.Throws<ArgumentOutOfRangeException>(() => p.Top(0));
    }

    private static double MaxAbsDiff(IReadOnlyList<float> a, IReadOnlyList<float> b) => a.Zip(b, (u, v) => Math.Abs((double)u - v)).Max();
}
