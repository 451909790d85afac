using System.Diagnostics;
using OnnxTransfer.Export;
using OnnxTransfer.Imaging;
using OnnxTransfer.Inference;
using OnnxTransfer.Onnx;
using OnnxTransfer.Tests.Export;
using SkiaSharp;
using Xunit.Abstractions;
using DataType = OnnxTransfer.Onnx.Proto.TensorProto.Types.DataType;

namespace OnnxTransfer.Tests.Inference;

/// <summary>Dispose, argument checks, cancellation and synchronization contexts of <see cref="TransferModel"/>.</summary>
[Collection(ExportCollection.Name)]
public class TransferModelLifetimeTests(ExportFixture fx, ITestOutputHelper log)
{
    [Fact]
    public void Every_call_after_Dispose_throws_ObjectDisposedException()
    {
        var model = TransferModel.Load(fx.FloatModelPath);
        var image = fx.TestImages[0];
        var bytes = File.ReadAllBytes(image);
        Assert.Equal(model.Predict(image).Values, model.Predict(bytes).Values);
        model.Dispose();
        model.Dispose(); // a second Dispose is harmless

        Assert.Throws<ObjectDisposedException>(() => model.Predict(image));
        Assert.Throws<ObjectDisposedException>(() => model.Predict(bytes));
        Assert.Throws<ObjectDisposedException>(() => model.Predict(new MemoryStream(bytes)));
        using (var bitmap = SKBitmap.Decode(image)) Assert.Throws<ObjectDisposedException>(() => model.Predict(bitmap));
        Assert.Throws<ObjectDisposedException>(() => model.PredictBatch([image, image]));
        Assert.Throws<ObjectDisposedException>(() => model.PredictBatch([bytes]));
        Assert.Throws<ObjectDisposedException>(() => model.PredictFiles([image]).ToList());
        Assert.Throws<ObjectDisposedException>(() => model.PreprocessFile(image));
        Assert.Throws<ObjectDisposedException>(() => { _ = model.PredictAsync(image); });
        Assert.Throws<ObjectDisposedException>(() => { _ = model.PredictBatchAsync([bytes]); });
        var e = Assert.Throws<ObjectDisposedException>(() => { _ = model.PredictAsync(new MemoryStream(bytes)); });
        Assert.Equal(nameof(TransferModel), e.ObjectName);
    }

    [Fact]
    public void Null_and_invalid_arguments_throw_the_standard_argument_exceptions()
    {
        using var model = TransferModel.Load(fx.FloatModelPath);
        Assert.Equal("path", Assert.Throws<ArgumentNullException>(() => model.Predict((string)null!)).ParamName);
        Assert.Throws<ArgumentException>(() => model.Predict(""));
        Assert.Equal("encoded", Assert.Throws<ArgumentNullException>(() => model.Predict((byte[])null!)).ParamName);
        Assert.Equal("stream", Assert.Throws<ArgumentNullException>(() => model.Predict((Stream)null!)).ParamName);
        Assert.Equal("bitmap", Assert.Throws<ArgumentNullException>(() => model.Predict((SKBitmap)null!)).ParamName);
        Assert.Equal("name", Assert.Throws<ArgumentNullException>(() => model.Predict(new byte[4], null!)).ParamName);
        Assert.Equal("paths", Assert.Throws<ArgumentNullException>(() => model.PredictBatch((IEnumerable<string>)null!)).ParamName);
        var element = Assert.Throws<ArgumentException>(() => model.PredictBatch([fx.TestImages[0], null!]));
        Assert.Equal("paths", element.ParamName);
        Assert.Contains("paths[1]", element.Message);
        // Thrown by the call itself, not when the results are enumerated or awaited.
        Assert.Throws<ArgumentNullException>(() => model.PredictFiles(null!));
        Assert.Throws<ArgumentOutOfRangeException>(() => model.PredictFiles([fx.TestImages[0]], batchSize: 0));
        Assert.Throws<ArgumentNullException>(() => { _ = model.PredictAsync((string)null!); });
        Assert.Throws<ArgumentNullException>(() => { _ = model.PredictBatchAsync((IEnumerable<byte[]>)null!); });
        Assert.Throws<ArgumentNullException>(() => TransferModel.Load(null!));
    }

    [Fact]
    public void Dispose_racing_predictions_on_8_threads_never_frees_a_session_under_a_run()
    {
        // A tiny classifier on a tiny image, so 1,000 rounds take seconds; the race is the same as with a big model.
        // Freeing a session under a running Run kills the test host, so the test passing is the proof.
        var path = Path.Combine(fx.NewFolder("race"), "tiny.onnx");
        TinyClassifier(path);
        var bytes = TinyPng();
        const int Rounds = 1000, Threads = 8;
        TransferModel? model = null;
        long predictions = 0, refused = 0;
        using var started = new CountdownEvent(Threads);
        using var round = new Barrier(Threads + 1);
        var workers = Enumerable.Range(0, Threads).Select(_ => Task.Factory.StartNew(() =>
        {
            for (var r = 0; r < Rounds; r++)
            {
                round.SignalAndWait(); // the model of this round is loaded
                started.Signal();      // about to predict
                while (true)
                {
                    try
                    {
                        Assert.Equal(2, model!.Predict(bytes).Values.Count);
                        Interlocked.Increment(ref predictions);
                    }
                    catch (ObjectDisposedException)
                    {
                        Interlocked.Increment(ref refused);
                        break;
                    }
                }
                round.SignalAndWait(); // every worker saw the model disposed
            }
        }, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default)).ToArray();

        var clock = Stopwatch.StartNew();
        for (var r = 0; r < Rounds; r++)
        {
            model = TransferModel.Load(path);
            started.Reset();
            round.SignalAndWait();
            started.Wait();   // every worker is predicting
            model.Dispose();  // while they are still predicting
            round.SignalAndWait();
        }
        Task.WaitAll(workers);
        log.WriteLine($"{Rounds} rounds: {predictions} predictions, {refused} refused after Dispose, {clock.Elapsed.TotalSeconds:F1} s");
        Assert.Equal(Rounds * Threads, refused);
    }

    [Fact]
    public async Task Cancelling_PredictBatchAsync_returns_within_a_second()
    {
        using var model = TransferModel.Load(fx.FloatModelPath);
        // Enough images that the batch takes seconds; its uncancelled time sets when the cancelled runs are cancelled,
        // so they are still running whatever the machine's load.
        var images = Directory.GetFiles(Path.Combine(SharedAssets.Dataset("hymenoptera"), "train"), "*.jpg", SearchOption.AllDirectories)
            .Order(StringComparer.Ordinal).Take(160).Select(File.ReadAllBytes).ToArray();
        await model.PredictBatchAsync(images[..4]); // first-run costs out of the timing
        var full = Stopwatch.StartNew();
        var batch = await model.PredictBatchAsync(images);
        var uncancelled = full.Elapsed;
        log.WriteLine($"{images.Length} images uncancelled: {uncancelled.TotalMilliseconds:F0} ms");
        // Past one session run of MaxRunBatch items: the later runs' items are labelled as one by one.
        foreach (var i in new[] { 0, 31, 32, images.Length - 1 })
            Assert.True(MaxAbsDiff(model.Predict(images[i]).Values, batch[i].Values) <= 1e-5, $"item {i}");

        // The cancelled calls get four times the images, so they are still running at half the measured time even
        // when the machine's load drops and a later run goes twice as fast.
        var longer = Enumerable.Repeat(images, 4).SelectMany(x => x).ToArray();
        foreach (var fraction in new[] { 0.02, 0.25, 0.5 })
        {
            using var cts = new CancellationTokenSource();
            var task = model.PredictBatchAsync(longer, cts.Token);
            await Task.Delay(uncancelled * fraction);
            var clock = Stopwatch.StartNew();
            cts.Cancel();
            var e = await Record.ExceptionAsync(() => task);
            log.WriteLine($"cancelled at {fraction:P0} of the batch: returned {clock.Elapsed.TotalMilliseconds:F0} ms after Cancel ({e?.GetType().Name ?? "completed"})");
            Assert.IsAssignableFrom<OperationCanceledException>(e);
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(1), $"took {clock.Elapsed.TotalMilliseconds:F0} ms after Cancel");
        }
        // The model still works after cancelled calls.
        Assert.Equal(2, model.Predict(images[0]).Values.Count);
    }

    [Fact]
    public void PredictAsync_completes_on_a_single_threaded_synchronization_context()
    {
        using var model = TransferModel.Load(fx.FloatModelPath);
        var expected = model.Predict(fx.TestImages[1]).Values;
        var bytes = File.ReadAllBytes(fx.TestImages[1]);
        var results = MessageLoop.Run(async () =>
        {
            var a = await model.PredictAsync(fx.TestImages[1]);
            var b = await model.PredictAsync(new MemoryStream(bytes));
            var c = await model.PredictBatchAsync([bytes, bytes]);
            return new[] { a, b, c[0], c[1] };
        }, TimeSpan.FromSeconds(60));
        Assert.All(results, p => Assert.Equal(expected, p.Values));
    }

    private static readonly ImagePreprocessing TinyPreprocessing =
        ImagePreprocessing.ImageNet with { Width = 16, Height = 16, Resize = ResizeMode.Direct };

    private static double MaxAbsDiff(IReadOnlyList<float> a, IReadOnlyList<float> b) => a.Zip(b, (x, y) => Math.Abs(x - y)).Max();

    /// <summary>An 8×8 PNG: decoding it costs next to nothing, so the rounds spend their time in Load, Run and Dispose.</summary>
    private static byte[] TinyPng()
    {
        using var bitmap = new SKBitmap(8, 8);
        bitmap.Erase(new SKColor(200, 120, 40));
        using var data = bitmap.Encode(SKEncodedImageFormat.Png, 100);
        return data.ToArray();
    }

    /// <summary>
    /// A valid exported classifier in a few hundred bytes: a 16×16 ImageNet-normalised input, the per-channel means through
    /// a 3×2 matrix, softmax. Loads and runs in well under a millisecond.
    /// </summary>
    internal static void TinyClassifier(string path)
    {
        var model = OnnxModel.Create("tiny");
        var g = new GraphBuilder(model.Graph);
        var x = g.Input("image", DataType.Float, [null, 3, 16, 16], ["N"]);
        var means = g.Node("Flatten", [g.Node("GlobalAveragePool", [x])], OnnxAttribute.Int("axis", 1));
        var logits = g.Node("MatMul", [means, g.Initializer("w", [1f, -1f, 0.5f, 0.5f, -1f, 1f], 3, 2)]);
        g.Alias(g.Node("Softmax", [logits], OnnxAttribute.Int("axis", -1)), ModelExporter.ProbabilitiesOutput);
        g.Alias(g.Node("ArgMax", [logits], OnnxAttribute.Int("axis", 1), OnnxAttribute.Int("keepdims", 0)), ModelExporter.LabelOutput);
        g.Output(ModelExporter.ProbabilitiesOutput, DataType.Float, [null, 2], ["N"]);
        g.Output(ModelExporter.LabelOutput, DataType.Int64, [null], ["N"]);
        new ModelMetadata { Labels = ["left", "right"], InputKind = ModelInputKind.ImageTensor, Preprocessing = TinyPreprocessing.ToString() }
            .WriteTo(model);
        model.Save(path);
    }
}
