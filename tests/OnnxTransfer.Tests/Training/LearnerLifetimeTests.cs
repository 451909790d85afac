using System.Diagnostics;
using OnnxTransfer.Features;
using OnnxTransfer.Training.Heads;
using Xunit.Abstractions;

namespace OnnxTransfer.Tests.Training;

/// <summary><see cref="Learner"/> on a UI-style synchronization context, cancelled mid-way, and after Dispose.</summary>
public class LearnerLifetimeTests(ITestOutputHelper log)
{
    [Fact]
    public void FitAsync_and_ExtractAsync_complete_on_a_single_threaded_synchronization_context()
    {
        using var dir = new TempDir();
        var data = SharedAssets.SmallHymenoptera(dir, train: 6, val: 2);
        var (fit, rows) = MessageLoop.Run(async () =>
        {
            using var learner = await Learner.CreateAsync(SharedAssets.MobileNetV2Int8);
            var loop = SynchronizationContext.Current;
            // Awaited directly, the extraction's own awaits run here too: nothing may block this thread.
            var (table, _) = await learner.ExtractAsync(learner.LoadDataset(data), dir.File("direct.parquet"));
            Assert.Same(loop, SynchronizationContext.Current);
            var result = await learner.FitAsync(data, dir.File("model.onnx"));
            Assert.Same(loop, SynchronizationContext.Current);
            return (result, table.Count);
        }, TimeSpan.FromMinutes(5));
        Assert.Equal(16, rows);
        Assert.True(File.Exists(fit.ModelPath));
        Assert.NotNull(fit.Report);
    }

    [Fact]
    public async Task Cancelling_FitAsync_in_extraction_or_in_training_returns_within_a_second()
    {
        using var dir = new TempDir();
        var data = SharedAssets.SmallHymenoptera(dir, train: 60, val: 10);
        var options = new LearnerOptions
        {
            // An MLP with a long epoch budget: training lasts long enough to be cancelled in the middle.
            Training = new TrainingOptions { Spec = HeadSpec.Parse("mlp:64"), Epochs = 100_000, Patience = 0, BatchSize = 8 },
        };
        using var learner = await Learner.CreateAsync(SharedAssets.MobileNetV2Int8, options);
        var model = dir.File("model.onnx");

        var extracting = await CancelWhenAsync(learner, data, model, u => u.Stage == "extract" && u.Done > 0);
        log.WriteLine($"cancelled in extraction: returned {extracting.TotalMilliseconds:F0} ms after Cancel");
        Assert.True(extracting < TimeSpan.FromSeconds(1), $"{extracting.TotalMilliseconds:F0} ms");
        Assert.True(Directory.Exists(FeatureStore.PartialPath(Path.ChangeExtension(model, ".features.parquet"))), "extracted rows are kept for the next run");

        // The rerun resumes the extraction, then trains until cancelled.
        var training = await CancelWhenAsync(learner, data, model, u => u.Stage == "train" && u.Done >= 2);
        log.WriteLine($"cancelled in training: returned {training.TotalMilliseconds:F0} ms after Cancel");
        Assert.True(training < TimeSpan.FromSeconds(1), $"{training.TotalMilliseconds:F0} ms");
        Assert.False(File.Exists(model));
    }

    /// <summary>Starts FitAsync, cancels it (from this thread) once <paramref name="when"/> sees a progress update, and returns how long it took to end.</summary>
    private static async Task<TimeSpan> CancelWhenAsync(Learner learner, string data, string model, Func<ProgressUpdate, bool> when)
    {
        using var cts = new CancellationTokenSource();
        using var reached = new SemaphoreSlim(0);
        var fit = learner.FitAsync(data, model, new Inline(u => { if (when(u)) reached.Release(); }), cts.Token);
        Assert.True(await reached.WaitAsync(TimeSpan.FromMinutes(3)), "the run never reached the point to cancel at");
        var clock = Stopwatch.StartNew();
        cts.Cancel();
        var e = await Record.ExceptionAsync(() => fit);
        var elapsed = clock.Elapsed;
        Assert.IsAssignableFrom<OperationCanceledException>(e);
        return elapsed;
    }

    [Fact]
    public async Task Calls_after_Dispose_throw_ObjectDisposedException()
    {
        using var dir = new TempDir();
        var data = SharedAssets.SmallHymenoptera(dir, train: 3, val: 1);
        var learner = await Learner.CreateAsync(SharedAssets.MobileNetV2Int8);
        var dataset = learner.LoadDataset(data);
        var backbone = learner.Backbone;
        learner.Dispose();
        learner.Dispose();
        Assert.Throws<ObjectDisposedException>(() => { _ = learner.FitAsync(data, dir.File("m.onnx")); });
        Assert.Throws<ObjectDisposedException>(() => { _ = learner.FineTuneAsync(data, dir.File("m.onnx"), 1); });
        Assert.Throws<ObjectDisposedException>(() => learner.LoadDataset(data));
        Assert.Throws<ObjectDisposedException>(() => learner.ChooseUnfreeze(dataset));
        await Assert.ThrowsAsync<ObjectDisposedException>(() => learner.ExtractAsync(dataset, dir.File("f.parquet")));
        await Assert.ThrowsAsync<ObjectDisposedException>(() => learner.ExportAsync(dir.File("head"), dir.File("m.onnx")));
        // The backbone went with it.
        Assert.Throws<ObjectDisposedException>(() => backbone.Session);
        await Assert.ThrowsAsync<ObjectDisposedException>(() => backbone.ExtractAsync(dataset.Items, dir.File("g.parquet")));
    }

    [Fact]
    public async Task Null_arguments_throw_ArgumentNullException()
    {
        using var learner = await Learner.CreateAsync(SharedAssets.MobileNetV2Int8);
        Assert.Throws<ArgumentNullException>(() => { _ = learner.FitAsync(null!, "m.onnx"); });
        Assert.Throws<ArgumentNullException>(() => { _ = learner.FitAsync("data", null!); });
        Assert.Throws<ArgumentOutOfRangeException>(() => { _ = learner.FineTuneAsync("data", "m.onnx", -1); });
        await Assert.ThrowsAsync<ArgumentNullException>(() => learner.ExtractAsync(null!, "f.parquet"));
        Assert.Throws<ArgumentNullException>(() => learner.Train(null!, "head"));
    }

    private sealed class Inline(Action<ProgressUpdate> report) : IProgress<ProgressUpdate>
    {
        public void Report(ProgressUpdate value) => report(value);
    }
}
