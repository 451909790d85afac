using System.Diagnostics;
using OnnxTransfer.Backbones;
using OnnxTransfer.Data;
using OnnxTransfer.Export;
using OnnxTransfer.Imaging;
using ModelMetadata = OnnxTransfer.Export.ModelMetadata;

using OnnxTransfer.Runtime;
using OnnxTransfer.Training.Heads;
using OnnxTransfer.Training.FineTuning;

namespace OnnxTransfer.Benchmarks;

/// <summary>What <see cref="FineTuneBenchmark"/> measures.</summary>
public sealed record FineTuneBenchmarkOptions
{
    /// <summary>Backbone layers unfrozen (MobileNetV2: 4 = the last block).</summary>
    public int Unfreeze { get; init; } = 4;

    /// <summary>Epochs per training run (the figure is the mean epoch of a run).</summary>
    public int Epochs { get; init; } = 2;

    /// <summary>Training runs per mode (figures are medians of the runs' mean epochs).</summary>
    public int Repeat { get; init; } = 2;

    /// <summary>Mini-batch size (also the prefix's batch).</summary>
    public int BatchSize { get; init; } = 16;

    /// <summary>ORT intra-op threads and decode workers.</summary>
    public int Threads { get; init; } = Environment.ProcessorCount;
}

/// <summary>
/// Measured epoch times of fine-tuning with and without the activation cache.
/// </summary>
/// <param name="Items">Training images.</param>
/// <param name="Unfreeze">Layers unfrozen.</param>
/// <param name="Boundary">The freeze boundary tensor.</param>
/// <param name="CacheSeconds">Filling the cache: decode + frozen prefix once per image.</param>
/// <param name="CachedEpochSeconds">Mean epoch per run on cached activations (suffix + head forward/backward + updates).</param>
/// <param name="WholeNetworkEpochSeconds">Mean epoch per run through the whole network (decode + prefix + the same).</param>
public sealed record FineTuneBenchmarkResult(int Items, int Unfreeze, string Boundary, double CacheSeconds, Samples CachedEpochSeconds, Samples WholeNetworkEpochSeconds)
{
    /// <summary>Whole-network epoch ÷ cached epoch (medians).</summary>
    public double SpeedUp => WholeNetworkEpochSeconds.Median / CachedEpochSeconds.Median;

    /// <summary>Epochs after which filling the cache has paid for itself.</summary>
    public double BreakEvenEpochs => CacheSeconds / (WholeNetworkEpochSeconds.Median - CachedEpochSeconds.Median);
}

/// <summary>
/// The speed-up of activation caching for fine-tuning: the same training loop (<see cref="FineTuner.Train"/>) fed by the
/// cache (<see cref="ActivationSet"/>) or by the whole network run on every batch (decode + frozen prefix, no
/// augmentation), on the same images, seeds and layers, in one process.
/// </summary>
public static class FineTuneBenchmark
{
    /// <summary>Runs both modes <see cref="FineTuneBenchmarkOptions.Repeat"/> times on labelled <paramref name="items"/>.</summary>
    /// <exception cref="OnnxTransferException">A speech backbone, fewer than two classes, or no readable image.</exception>
    public static FineTuneBenchmarkResult Run(FeatureBackbone backbone, IReadOnlyList<DatasetItem> items, FineTuneBenchmarkOptions? options = null,
        IProgress<ProgressUpdate>? progress = null, CancellationToken ct = default)
    {
        options ??= new FineTuneBenchmarkOptions();
        if (backbone.Preprocessing is not { } preprocessing)
            throw new OnnxTransferException($"backbone '{backbone.Name}' is a speech backbone; the fine-tuning benchmark is for image backbones.");
        var classes = items.Select(i => i.Label).Distinct().Count();
        if (classes < 2) throw new OnnxTransferException($"fine-tuning benchmark: {classes} class(es) in the data; give a labelled dataset with at least two.");
        var floatBackbone = FineTuner.FloatBackbone(backbone.FeatureModel);
        var task = classes == 2 ? HeadTask.Binary : HeadTask.MultiClass;
        var graph = FineTuneGraphBuilder.Build(floatBackbone, HeadSpec.Parse("linear"), task, classes, options.Unfreeze);

        var encoder = new ImageEncoder(preprocessing);
        var clock = Stopwatch.StartNew();
        using var sessions = SessionFactory.ForTraining(ExecutionDevice.Cpu, options.Threads);
        var cached = ActivationCache.Readable(graph, encoder, items, options.BatchSize, sessions, progress, ct);
        var cacheSeconds = clock.Elapsed.TotalSeconds;
        var readable = cached.Items;
        if (readable.Count == 0) throw new OnnxTransferException("fine-tuning benchmark: no image could be read; check the dataset's files.");

        var fineTune = new FineTuneOptions
        {
            Unfreeze = options.Unfreeze,
            Training = new TrainingOptions { Epochs = options.Epochs, BatchSize = options.BatchSize, LearningRate = 1e-3, Patience = 0, ValidationFraction = 0, Threads = options.Threads },
        };
        var metadata = new ModelMetadata { Labels = [], InputKind = ModelInputKind.ImageTensor, Backbone = backbone.Name };
        var cachedEpochs = new List<double>();
        var wholeEpochs = new List<double>();
        for (var r = 0; r < options.Repeat; r++)
        {
            progress?.Report(new ProgressUpdate("bench", 2 * r, 2 * options.Repeat, "runs", $"cached {r + 1}/{options.Repeat}"));
            cachedEpochs.Add(FineTuner.Train(floatBackbone, graph, cached, null, fineTune, metadata, null, ct, sessions).EpochTime.TotalSeconds);
            progress?.Report(new ProgressUpdate("bench", 2 * r + 1, 2 * options.Repeat, "runs", $"whole network {r + 1}/{options.Repeat}"));
            // Augmentation off: epoch 0 of AugmentedActivations is the plain encoding, so this is the cache's input computed afresh.
            using var prefix = new AugmentedActivations(graph, new AugmentedImageEncoder(preprocessing, ImageAugmentation.Light, 0, encoder.Decoder), readable, sessions);
            wholeEpochs.Add(FineTuner.Train(floatBackbone, graph, new UnaugmentedPrefix(prefix), null, fineTune, metadata, null, ct, sessions).EpochTime.TotalSeconds);
        }
        progress?.Report(new ProgressUpdate("bench", 2 * options.Repeat, 2 * options.Repeat, "runs"));
        return new FineTuneBenchmarkResult(readable.Count, options.Unfreeze, graph.Boundary, cacheSeconds, new Samples(cachedEpochs), new Samples(wholeEpochs));
    }

    /// <summary>The frozen prefix run on every batch, plainly encoded: what training costs without the cache.</summary>
    private sealed class UnaugmentedPrefix(AugmentedActivations inner) : IActivationSource
    {
        public IReadOnlyList<DatasetItem> Items => inner.Items;

        public IReadOnlyList<long> SampleShape => inner.SampleShape;

        public void Fill(int epoch, ReadOnlySpan<int> rows, Span<float> destination) => inner.Fill(0, rows, destination);
    }
}
