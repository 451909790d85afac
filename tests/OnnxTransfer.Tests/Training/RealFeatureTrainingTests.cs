using System.Diagnostics;
using OnnxTransfer.Backbones;
using OnnxTransfer.Evaluation;
using OnnxTransfer.Features;
using OnnxTransfer.Training.Engine;
using OnnxTransfer.Training.Heads;

namespace OnnxTransfer.Tests.Training;

/// <summary>Hymenoptera features from the real MobileNetV2-int8, extracted once per test run.</summary>
public static class HymenopteraFeatures
{
    private static readonly Lazy<Task<FeatureTable>> Table = new(ExtractAsync);

    public static Task<FeatureTable> GetAsync() => Table.Value;

    private static async Task<FeatureTable> ExtractAsync()
    {
        var dir = Path.Combine(Path.GetTempPath(), "onnxtransfer-tests", "hymenoptera-features-" + Environment.ProcessId);
        var registry = new BackboneRegistry(BackboneRegistry.BuiltInManifests,
            new BackboneLocations(Path.Combine(dir, "cache"), [SharedAssets.Models], AllowNetwork: false));
        using var backbone = await FeatureBackbone.LoadAsync("mobilenetv2-12-int8", registry: registry);
        var summary = await backbone.ExtractAsync(backbone.LoadDataset(SharedAssets.Dataset("hymenoptera")).Items, Path.Combine(dir, "hym.parquet"));
        return await FeatureStore.ReadAsync(summary.Output);
    }
}

public class RealFeatureTrainingTests
{
    public const string ChildMode = "train-until-blocked";
    private static readonly TrainingOptions Options = new() { Epochs = 8, Seed = 7, Patience = 100, Optimizer = new OptimizerSettings { Kind = OptimizerKind.AdamW } };

    [Fact]
    public async Task Linear_head_on_hymenoptera_reaches_93_percent_and_is_reproducible()
    {
        var splits = FeatureSplits.From(await HymenopteraFeatures.GetAsync());
        using var dir = new TempDir();
        Trainer.Fit(splits.Train, splits.Validation, new TrainingOptions(), dir.File("a"));
        Trainer.Fit(splits.Train, splits.Validation, new TrainingOptions(), dir.File("b"));

        Assert.Equal(File.ReadAllBytes(dir.File("a/checkpoint.bin")), File.ReadAllBytes(dir.File("b/checkpoint.bin")));
        Assert.Equal(File.ReadAllBytes(dir.File("a/eval.onnx")), File.ReadAllBytes(dir.File("b/eval.onnx")));
        using var head = HeadModel.Load(dir.File("a"));
        var metrics = HeadEvaluation.Evaluate(head, splits.Validation!);
        Assert.True(metrics.Accuracy >= 0.93, $"val accuracy {metrics.Accuracy:F4} < 0.93");
    }

    [Fact]
    public async Task Sigkilled_training_resumes_to_the_same_parameters_as_an_uninterrupted_run()
    {
        var table = await HymenopteraFeatures.GetAsync();
        using var dir = new TempDir();
        var features = dir.File("hym.parquet");
        await FeatureStore.WriteAsync(features, table, new FeatureStoreMetadata("mobilenetv2-12-int8", "", "472_quantized", "", table.Dimension));
        var killed = dir.File("killed");

        Assert.Equal(137, await KilledChild.RunAsync("epoch 3", ChildMode, features, killed, "3"));
        Assert.False(File.Exists(Path.Combine(killed, Trainer.EvalGraphFile)));  // it never finished

        var splits = FeatureSplits.From(table);
        var resumed = Trainer.Resume(killed, splits.Train, splits.Validation);
        Assert.Equal([4, 5, 6, 7, 8], resumed.History.Skip(3).Select(h => h.Epoch));
        Trainer.Fit(splits.Train, splits.Validation, Options, dir.File("straight"));
        Assert.Equal(File.ReadAllBytes(dir.File("straight/checkpoint.bin")), File.ReadAllBytes(Path.Combine(killed, Trainer.CheckpointFile)));
        Assert.Equal(File.ReadAllBytes(dir.File("straight/eval.onnx")), File.ReadAllBytes(Path.Combine(killed, Trainer.EvalGraphFile)));
    }

    /// <summary>Child side: trains, prints "epoch N" after each saved epoch, and blocks for ever after epoch blockAt.</summary>
    public static int Child(string[] args)
    {
        var splits = FeatureSplits.From(FeatureStore.ReadAsync(args[0]).GetAwaiter().GetResult()); // a child process's Main
        var blockAt = int.Parse(args[2]);
        var progress = new Inline(u =>
        {
            Console.WriteLine($"epoch {u.Done}");
            Console.Out.Flush();
            if (u.Done == blockAt) new ManualResetEventSlim().Wait();  // wait to be killed
        });
        Trainer.Fit(splits.Train, splits.Validation, Options, args[1], progress);
        return 0;
    }

    private sealed class Inline(Action<ProgressUpdate> report) : IProgress<ProgressUpdate>
    {
        public void Report(ProgressUpdate value) => report(value);
    }
}
