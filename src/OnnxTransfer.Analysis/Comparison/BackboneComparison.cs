using System.Diagnostics;
using Microsoft.ML.OnnxRuntime;
using OnnxTransfer.Backbones;
using OnnxTransfer.Data;
using OnnxTransfer.Evaluation;
using OnnxTransfer.Features;
using OnnxTransfer.Training.Heads;

namespace OnnxTransfer.Comparison;

/// <summary>
/// Which backbone suits a dataset: each candidate's features are extracted (cached in a folder, resumable), a linear head
/// (the default L-BFGS solver) is cross-validated on the training side of `fit`'s split (<see cref="ProbePlan"/>), and its
/// speed and size are measured; <see cref="BackboneChoice"/> then picks one. The evaluation items fit reports on are never
/// probed, so choosing does not peek at the score that judges the choice.
/// </summary>
internal static class BackboneComparison
{
    /// <summary>Why a default candidate is left out when it cannot be resolved without the network.</summary>
    public const string NotOffline = "not available offline (cache, ONNXTRANSFER_MIRROR or the NuGet global packages folder); pull it or name it in --backbones";

    /// <summary>
    /// Compares <paramref name="candidates"/> (names or .onnx paths; null: every image backbone of the registry that resolves
    /// without the network) on the dataset at <paramref name="dataPath"/>, caching features in <paramref name="cacheDir"/>
    /// and writing <see cref="ComparisonReport"/> there. Candidates that cannot be loaded, or are not image backbones, are skipped with the reason.
    /// </summary>
    /// <exception cref="OnnxTransferException">Bad options or dataset, or no candidate could be compared.</exception>
    public static async Task<ComparisonResult> RunAsync(string dataPath, IReadOnlyList<string>? candidates, string cacheDir,
        ComparisonOptions? options = null, BackboneRegistry? registry = null, IProgress<ProgressUpdate>? progress = null, CancellationToken ct = default)
    {
        options ??= new ComparisonOptions();
        options.Validate();
        registry ??= BackboneRegistry.Default;
        // Checked before any backbone loads: a dataset the probe cannot use should fail in seconds.
        var dataset = DatasetLoader.Load(dataPath, new DatasetLoadOptions { Extensions = DatasetLoadOptions.ImageExtensions, AllowOutsidePaths = options.AllowOutsidePaths });
        var plan = ProbePlan.From(dataset, options);
        // The default list takes what is already on this machine: a comparison should not start by downloading every backbone.
        var names = candidates ?? registry.Manifests.Where(m => m.Kind == BackboneKind.Image).Select(m => m.Name).ToArray();
        var resolver = candidates is null ? new BackboneRegistry(registry.Manifests, registry.Locations with { AllowNetwork = false }) : registry;
        Directory.CreateDirectory(cacheDir);
        var scores = new List<BackboneScore>();
        var skipped = new List<SkippedBackbone>();
        foreach (var name in names)
        {
            if (candidates is null && !await ResolvesAsync(resolver, name, ct))
            {
                skipped.Add(new SkippedBackbone(name, NotOffline));
                continue;
            }
            FeatureBackbone backbone;
            try { backbone = await FeatureBackbone.LoadAsync(name, options.Backbone, progress, ct, resolver); }
            catch (OnnxTransferException e)
            {
                skipped.Add(new SkippedBackbone(name, WithoutName(e.Message, name)));
                continue;
            }
            using (backbone)
            {
                if (backbone.Kind != BackboneKind.Image)
                    skipped.Add(new SkippedBackbone(name, "a speech backbone; compare ranks image backbones"));
                else if (scores.Any(s => s.Backbone == backbone.Name))
                    skipped.Add(new SkippedBackbone(name, $"a second backbone named '{backbone.Name}'"));
                else
                    scores.Add(await ScoreAsync(backbone, name, plan, cacheDir, options, progress, ct));
            }
        }
        if (scores.Count == 0)
            throw new OnnxTransferException($"compare: no backbone could be compared ({string.Join("; ", skipped.Select(s => $"{s.Backbone}: {s.Reason}"))}); name backbones that resolve with --backbones, or set {BackboneLocations.MirrorVariable}.");
        var (winner, reason) = BackboneChoice.Choose(scores);
        var result = new ComparisonResult(dataset.Root, plan.Description, plan.Folds, plan.Items.Select(i => i.Id).ToArray(), plan.FoldOf,
            scores.ToArray(), skipped.ToArray(), winner.Backbone, reason);
        ComparisonReport.Write(result, cacheDir);
        return result;
    }

    private static async Task<BackboneScore> ScoreAsync(FeatureBackbone backbone, string candidate, ProbePlan plan, string cacheDir, ComparisonOptions options,
        IProgress<ProgressUpdate>? progress, CancellationToken ct)
    {
        var extraction = await backbone.ExtractAsync(plan.Extract, plan.StorePath(cacheDir, backbone.Name),
            options.Extraction with { Shard = null, ErrorsPath = null }, progress, ct);
        var table = await FeatureStore.ReadAsync(extraction.Output, ct);
        var foldOf = plan.Items.Select((item, i) => (item.Id, Fold: plan.FoldOf[i])).ToDictionary(p => p.Id, p => p.Fold, StringComparer.Ordinal);
        var rows = table.Where(i => foldOf.ContainsKey(table.Paths[i]));
        if (rows.Count == 0)
            throw new OnnxTransferException($"{backbone.Name}: no training item could be read (see {extraction.ErrorsFile}).");
        var clock = Stopwatch.StartNew();
        var (accuracy, balanced) = await Task.Run(() => Probe(backbone, rows, rows.Paths.Select(p => foldOf[p]).ToArray(), plan.Folds, cacheDir, options, progress, ct), ct);
        var probeSeconds = clock.Elapsed.TotalSeconds;
        var stored = rows.Paths.ToHashSet(StringComparer.Ordinal);
        var readable = plan.Items.Where(i => stored.Contains(i.Id)).ToArray();
        var latency = Latency(backbone, readable[0], options);
        var speed = await SpeedAsync(backbone, readable.Take(options.SpeedItems).ToArray(), cacheDir, options, ct);
        return new BackboneScore(backbone.Name, candidate, backbone.Dimension, Mean(accuracy), Sd(accuracy), Mean(balanced), Sd(balanced), balanced,
            rows.Count, speed, latency, new FileInfo(backbone.Source.ModelPath).Length, extraction.Output, plan.WholeDataset,
            extraction.Seconds, probeSeconds);
    }

    /// <summary>Fits the default linear head on all folds but one and scores the one left out, for every fold.</summary>
    private static (double[] Accuracy, double[] Balanced) Probe(FeatureBackbone backbone, FeatureTable rows, int[] fold, int folds,
        string cacheDir, ComparisonOptions options, IProgress<ProgressUpdate>? progress, CancellationToken ct)
    {
        var training = new TrainingOptions { Seed = options.Seed, Threads = options.Threads, FeatureSource = backbone.Name };
        var work = Path.Combine(cacheDir, $".probe-{Environment.ProcessId}");
        var accuracy = new List<double>();
        var balanced = new List<double>();
        using var sessions = backbone.TrainingSessions(options.Threads);
        try
        {
            for (var f = 0; f < folds; f++)
            {
                ct.ThrowIfCancellationRequested();
                var k = f;
                var train = rows.Where(i => fold[i] != k);
                var test = rows.Where(i => fold[i] == k);
                // Unreadable files can empty a fold or leave a class without training rows; such a fold cannot be scored.
                if (test.Count == 0 || test.Classes().Except(train.Classes()).Any()) continue;
                var headDir = Path.Combine(work, $"fold-{f}");
                Trainer.Fit(train, null, training, headDir, ct: ct, sessions: sessions);
                using var head = HeadModel.Load(headDir, sessions);
                var metrics = ClassificationMetrics.Compute(test.Labels, head.PredictProbabilities(test), head.Classes);
                accuracy.Add(metrics.Accuracy);
                balanced.Add(metrics.BalancedAccuracy);
                progress?.Report(new ProgressUpdate($"probe {backbone.Name}", f + 1, folds, "folds",
                    FormattableString.Invariant($"fold {f + 1}: balanced accuracy {metrics.BalancedAccuracy:P1}")));
            }
        }
        finally
        {
            if (Directory.Exists(work)) Directory.Delete(work, recursive: true);
        }
        if (balanced.Count == 0)
            throw new OnnxTransferException($"{backbone.Name}: no fold could be scored; too few training items could be read.");
        return (accuracy.ToArray(), balanced.ToArray());
    }

    /// <summary>Median wall time of one backbone run on one preprocessed image (batch 1), after warm-up runs.</summary>
    private static double Latency(FeatureBackbone backbone, DatasetItem item, ComparisonOptions options)
    {
        var shape = backbone.Encoder.SampleShape;
        var sample = new float[shape.Aggregate(1L, (a, b) => a * b)];
        backbone.Encoder.Encode(item, sample);
        using var input = OrtValue.CreateTensorValueFromMemory(sample, [1, .. shape]);
        using var runOptions = new RunOptions();
        string[] inputs = [backbone.Session.InputNames[0]], outputs = [backbone.Session.OutputNames[0]];
        var times = new double[options.LatencyRuns];
        for (var r = -options.LatencyWarmup; r < options.LatencyRuns; r++)
        {
            var start = Stopwatch.GetTimestamp();
            using var result = backbone.Session.Run(runOptions, inputs, [input], outputs);
            if (r >= 0) times[r] = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
        }
        Array.Sort(times);
        return times.Length % 2 == 1 ? times[times.Length / 2] : (times[times.Length / 2 - 1] + times[times.Length / 2]) / 2;
    }

    /// <summary>Items per second through the extraction pipeline (decode workers, batches, backbone) on <paramref name="items"/>, into a scratch store.</summary>
    private static async Task<double> SpeedAsync(FeatureBackbone backbone, IReadOnlyList<DatasetItem> items, string cacheDir, ComparisonOptions options, CancellationToken ct)
    {
        var scratch = Path.Combine(cacheDir, $".speed-{Environment.ProcessId}");
        try
        {
            var summary = await backbone.ExtractAsync(items, Path.Combine(scratch, "sample.parquet"), options.Extraction with { Shard = null, ErrorsPath = null, MaxErrors = null }, null, ct);
            return summary.ItemsPerSecond;
        }
        finally
        {
            if (Directory.Exists(scratch)) Directory.Delete(scratch, recursive: true);
        }
    }

    private static async Task<bool> ResolvesAsync(BackboneRegistry registry, string name, CancellationToken ct)
    {
        try { await registry.ResolveAsync(name, null, ct); return true; }
        catch (OnnxTransferException) { return false; }
    }

    // Load errors start with the file they name; the skipped line already shows it.
    private static string WithoutName(string message, string name) =>
        message.StartsWith(name + ": ", StringComparison.Ordinal) ? message[(name.Length + 2)..] : message;

    private static double Mean(double[] x) => x.Average();

    /// <summary>Sample standard deviation (0 for a single value).</summary>
    private static double Sd(double[] x)
    {
        if (x.Length < 2) return 0;
        var mean = x.Average();
        return Math.Sqrt(x.Sum(v => (v - mean) * (v - mean)) / (x.Length - 1));
    }
}
