using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Microsoft.ML.OnnxRuntime;
using OnnxTransfer.Backbones;
using OnnxTransfer.Data;
using OnnxTransfer.Evaluation;
using OnnxTransfer.Export;
using OnnxTransfer.Imaging;
using OnnxTransfer.Onnx;
using ModelMetadata = OnnxTransfer.Export.ModelMetadata;

using OnnxTransfer.Runtime;
using OnnxTransfer.Training.Heads;
using OnnxTransfer.Training.FineTuning;

namespace OnnxTransfer.Curves;

/// <summary>
/// The transfer learning curve: accuracy against training examples per class for a frozen backbone + linear head, the
/// same with the last layers fine-tuned, and a linear head on raw pixels (no transfer), several seeds each, all scored on
/// one evaluation set (<see cref="CurveSplit"/>). It answers "does transfer help on my data, and when should I unfreeze more?".
/// </summary>
/// <remarks>
/// Everything expensive runs once, into the output directory (resumable Parquet stores): the frozen prefix of the float
/// backbone up to the fine-tuning boundary over every image (<see cref="ActivationCache.InStoreAsync"/>), and the raw pixels.
/// Frozen features are the untouched suffix run on those activations (<see cref="SuffixModel"/>), so methods (a) and (b)
/// start from the very same network and differ only in what trains. Each run then only trains: no validation split
/// and no early stopping (with 5 examples per class a split is meaningless, and the curve must not depend on it), a
/// fixed epoch budget raised to at least <see cref="CurveOptions.MinSteps"/> optimizer steps. Finished runs are kept in
/// curve.json after each run, so an interrupted curve resumes where it stopped.
/// </remarks>
public static class TransferCurve
{
    /// <summary>File name of the boundary-activation cache in the output directory ({0} = unfreeze count).</summary>
    public const string ActivationStoreName = "activations-{0}.parquet";

    /// <summary>
    /// Runs the curve for <paramref name="backbone"/> (an image backbone) on <paramref name="dataset"/>, writing caches and
    /// the report (<see cref="CurveReport"/>) into <paramref name="outDir"/>.
    /// </summary>
    /// <exception cref="OnnxTransferException">Bad options, a speech backbone, a dataset with fewer than two classes, or unreadable data.</exception>
    public static async Task<CurveResult> RunAsync(FeatureBackbone backbone, Dataset dataset, string outDir, CurveOptions? options = null,
        IProgress<ProgressUpdate>? progress = null, CancellationToken ct = default)
    {
        options ??= new CurveOptions();
        options.Validate();
        if (backbone.Kind != BackboneKind.Image || backbone.Preprocessing is not { } preprocessing)
            throw new OnnxTransferException($"backbone '{backbone.Name}' is a speech backbone; the transfer curve is for image backbones.");
        Directory.CreateDirectory(outDir);
        var split = CurveSplit.From(dataset, options.HoldoutFraction, options.HoldoutSeed, options.Grouping);
        var all = split.Pool.Concat(split.Eval).ToArray();
        var settings = Settings(options, backbone);
        var cacheClock = Stopwatch.StartNew();

        var task = split.Classes.Length == 2 ? HeadTask.Binary : HeadTask.MultiClass;
        using var sessions = backbone.TrainingSessions(options.Threads);
        var cached = options.Methods.Any(m => m is CurveMethod.Frozen or CurveMethod.Unfrozen or CurveMethod.Gradual)
            ? await CacheBackboneAsync(backbone, preprocessing, task, split.Classes.Length, all, outDir, options, sessions, progress, ct).ConfigureAwait(false)
            : null;
        Features.FeatureTable? pixels = null;
        Dictionary<string, int>? pixelRow = null;
        if (options.Methods.Contains(CurveMethod.Pixels))
        {
            var encoder = new RawPixelEncoder(options.PixelSize);
            pixels = await encoder.StoreAsync(all, Path.Combine(outDir, FormattableString.Invariant($"pixels-{options.PixelSize}.parquet")), options.BatchSize, progress, ct)
                .ConfigureAwait(false);
            pixelRow = Index(pixels.Paths); // the store's path column holds item ids
        }
        var cacheSeconds = cacheClock.Elapsed.TotalSeconds;

        // Every method trains and is scored on the same images: those every cache could read.
        bool Readable(DatasetItem i) => (cached?.Row.ContainsKey(i.Id) ?? true) && (pixelRow?.ContainsKey(i.Id) ?? true);
        split = split with { Pool = split.Pool.Where(Readable).ToArray(), Eval = split.Eval.Where(Readable).ToArray() };
        var evalClasses = split.Eval.Select(i => Array.BinarySearch(split.Classes, i.Label, StringComparer.Ordinal)).ToArray();

        var runs = Resume(outDir, dataset.Root, backbone.Name, split, settings);
        var result = new CurveResult(dataset.Root, backbone.Name, split.Classes, split.EvalName, Counts(split.Eval, split.Classes),
            Counts(split.Pool, split.Classes), settings, runs, cacheSeconds);
        var plan = options.Sizes.SelectMany(size => options.SeedsAt(size).SelectMany(seed => options.Methods.Select(m => (Size: size, Seed: seed, Method: m)))).ToArray();
        var done = 0;
        var headRoot = Path.Combine(outDir, ".heads");
        foreach (var (size, seed, method) in plan)
        {
            ct.ThrowIfCancellationRequested();
            done++;
            if (runs.Any(r => r.Method == method && r.PerClass == size && r.Seed == seed)) continue;
            var rows = split.Subset(size, seed);
            var clock = Stopwatch.StartNew();
            var c = cached!; // set whenever a backbone method is asked for
            var (probabilities, epochs) = method switch
            {
                CurveMethod.Frozen => TrainHead(Select(c.Features, c.Dimension, rows.Select(r => c.Row[split.Pool[r].Id])),
                    rows, Select(c.Features, c.Dimension, split.Eval.Select(i => c.Row[i.Id])), c.Dimension, split, options, seed, headRoot, sessions),
                CurveMethod.Pixels => TrainHead(Select(pixels!.Features, pixels.Dimension, rows.Select(r => pixelRow![split.Pool[r].Id])),
                    rows, Select(pixels.Features, pixels.Dimension, split.Eval.Select(i => pixelRow![i.Id])), pixels.Dimension, split, options, seed, headRoot, sessions),
                _ => FineTune(c, c.Activations.Subset(rows.Select(r => c.Row[split.Pool[r].Id]).ToArray()),
                    c.Activations.Subset(split.Eval.Select(i => c.Row[i.Id]).ToArray()), backbone, options, seed, method == CurveMethod.Gradual, sessions, progress, ct),
            };
            var metrics = ClassificationMetrics.Compute(evalClasses, probabilities, split.Classes);
            var run = new CurveRun(method, size, seed, rows.Length, epochs, metrics.Accuracy, metrics.BalancedAccuracy, clock.Elapsed.TotalSeconds);
            runs.Add(run);
            result = result with { Runs = runs.ToArray() };
            CurveReport.WriteJson(result, Path.Combine(outDir, CurveReport.JsonFileName));
            progress?.Report(new ProgressUpdate("curve", done, plan.Length, "runs", FormattableString.Invariant(
                $"{method.ToString().ToLowerInvariant()} {CurveOptions.SizeText(size)}/class seed {seed}: acc {run.Accuracy:P1}")));
        }
        if (Directory.Exists(headRoot)) Directory.Delete(headRoot, recursive: true);
        // Keep the plan's order (and drop runs of sizes or methods no longer asked for).
        var ordered = plan.Select(p => runs.First(r => r.Method == p.Method && r.PerClass == p.Size && r.Seed == p.Seed)).ToArray();
        return result with { Runs = ordered };
    }

    /// <summary>The float backbone, its fine-tune graph, the boundary activations of every image and the frozen features computed from them.</summary>
    private sealed record BackboneCache(OnnxModel FloatBackbone, FineTuneGraph Graph, ActivationSet Activations, Dictionary<string, int> Row,
        float[] Features, int Dimension);

    /// <summary>Runs the frozen prefix once over every image (resumable store in <paramref name="outDir"/>) and the untouched suffix over the activations.</summary>
    private static async Task<BackboneCache> CacheBackboneAsync(FeatureBackbone backbone, ImagePreprocessing preprocessing, HeadTask task, int classes,
        IReadOnlyList<DatasetItem> all, string outDir, CurveOptions options, SessionFactory sessions, IProgress<ProgressUpdate>? progress, CancellationToken ct)
    {
        var floatBackbone = FineTuner.FloatBackbone(backbone.FeatureModel);
        var t = options.FineTune.Training;
        var graph = FineTuneGraphBuilder.Build(floatBackbone, t.Spec, task, classes, options.Unfreeze, t.LabelSmoothing);
        var shape = FineTuner.BoundaryShape(graph);
        var store = Path.Combine(outDir, string.Format(CultureInfo.InvariantCulture, ActivationStoreName, options.Unfreeze));
        var (cache, kept, _) = await ActivationCache.InStoreAsync(graph, new ImageEncoder(preprocessing), preprocessing, all, store, options.BatchSize, progress, ct, sessions)
            .ConfigureAwait(false);
        using var suffix = new SuffixModel(floatBackbone, graph.Boundary, shape, sessions);
        return new BackboneCache(floatBackbone, graph, new ActivationSet(cache, shape, kept), Index(kept.Select(i => i.Id)), suffix.Features(cache), suffix.Dimension);
    }

    /// <summary>Trains a linear head (no validation, no early stopping) and returns its probabilities on the evaluation rows.</summary>
    private static (float[] Probabilities, int Epochs) TrainHead(float[] train, int[] rows, float[] eval, int dim, CurveSplit split,
        CurveOptions options, ulong seed, string headRoot, SessionFactory sessions)
    {
        var labels = rows.Select(r => Array.BinarySearch(split.Classes, split.Pool[r].Label, StringComparer.Ordinal)).ToArray();
        var set = TrainingSet.SingleLabel(train, dim, labels, split.Classes);
        var training = options.Head with
        {
            Seed = seed, ValidationFraction = 0, Patience = 0, Threads = options.Threads,
            Epochs = options.EpochsFor(rows.Length, options.Head.BatchSize, options.Head.Epochs),
        };
        var headDir = Path.Combine(headRoot, "head");
        if (Directory.Exists(headDir)) Directory.Delete(headDir, recursive: true);
        Trainer.Fit(set, null, training, headDir, sessions: sessions);
        using var head = HeadModel.Load(headDir, sessions);
        return (head.PredictProbabilities(eval), training.Epochs);
    }

    /// <summary>Fine-tunes the unfrozen layers with the head on cached activations and returns probabilities on the evaluation activations.</summary>
    private static (float[] Probabilities, int Epochs) FineTune(BackboneCache cached, ActivationSet train, ActivationSet eval,
        FeatureBackbone backbone, CurveOptions options, ulong seed, bool gradual, SessionFactory sessions, IProgress<ProgressUpdate>? progress, CancellationToken ct)
    {
        var (floatBackbone, graph, shape) = (cached.FloatBackbone, cached.Graph, cached.Activations.SampleShape.ToArray());
        var t = options.FineTune.Training;
        var fineTune = options.FineTune with
        {
            Unfreeze = options.Unfreeze,
            CheckpointPath = null, // many short runs; a resumed curve skips finished runs instead
            GradualUnfreezing = gradual ? 1 : 0,
            Training = t with
            {
                Seed = seed, ValidationFraction = 0, Patience = 0, Threads = options.Threads,
                Epochs = options.FineTuneEpochsFor(train.Items.Count, t.BatchSize, t.Epochs, minimumEpochs: gradual ? options.Unfreeze + 1 : 1),
            },
        };
        var metadata = new ModelMetadata
        {
            Labels = [], InputKind = ModelInputKind.ImageTensor, Preprocessing = backbone.Source.Preprocessing.ToString(),
            Backbone = backbone.Name, BackboneSha256 = backbone.Sha256, FeatureTensor = backbone.FeatureTensor,
        };
        var result = FineTuner.Train(floatBackbone, graph, train, null, fineTune, metadata, progress, ct, sessions);
        using var suffix = new SuffixModel(result.TunedBackbone, graph.Boundary, shape, sessions);
        var features = suffix.Features(eval.Values);
        using var session = sessions.CreateSession(result.HeadEval.ToBytes());
        using var runOptions = new RunOptions();
        using var x = OrtValue.CreateTensorValueFromMemory(features, [eval.Items.Count, suffix.Dimension]);
        using var output = session.Run(runOptions, [HeadGraphBuilder.Features], [x], [HeadGraphBuilder.Probabilities]);
        return (output[0].GetTensorDataAsSpan<float>().ToArray(), fineTune.Training.Epochs);
    }

    /// <summary>The rows <paramref name="rows"/> of a row-major matrix, in that order.</summary>
    private static float[] Select(float[] matrix, int dim, IEnumerable<int> rows)
    {
        var list = rows.ToArray();
        var result = new float[(long)list.Length * dim];
        for (var k = 0; k < list.Length; k++) matrix.AsSpan(list[k] * dim, dim).CopyTo(result.AsSpan(k * dim, dim));
        return result;
    }

    private static Dictionary<string, int> Index(IEnumerable<string> ids)
    {
        var index = new Dictionary<string, int>(StringComparer.Ordinal);
        var i = 0;
        foreach (var id in ids) index.TryAdd(id, i++);
        return index;
    }

    private static Dictionary<string, int> Counts(IReadOnlyList<DatasetItem> items, string[] classes) =>
        classes.ToDictionary(c => c, c => items.Count(i => i.Label == c), StringComparer.Ordinal);

    /// <summary>The settings a finished run depends on; a resumed curve reuses only runs made with the same ones.</summary>
    private static Dictionary<string, string> Settings(CurveOptions o, FeatureBackbone backbone) => new(StringComparer.Ordinal)
    {
        ["backbone_sha256"] = backbone.Sha256,
        ["unfreeze"] = o.Unfreeze.ToString(CultureInfo.InvariantCulture),
        ["pixel_size"] = o.PixelSize.ToString(CultureInfo.InvariantCulture),
        ["min_steps"] = o.MinSteps.ToString(CultureInfo.InvariantCulture),
        ["max_fine_tune_steps"] = o.MaxFineTuneSteps.ToString(CultureInfo.InvariantCulture),
        ["head_training"] = JsonText.Write(o.Head with { FeatureSource = "" }, HeadsJson.Default.TrainingOptions, indented: false),
        ["fine_tune"] = JsonText.Write(o.FineTune with
        {
            ActivationStore = null, CheckpointPath = null, Unfreeze = o.Unfreeze, Training = o.FineTune.Training with { FeatureSource = "" },
        }, FineTuningJson.Default.FineTuneOptions, indented: false),
        ["threads"] = o.Threads.ToString(CultureInfo.InvariantCulture),
        // Subsets and the hold-out come from StratifiedSplit's seeded id ranking; runs drawn another way are not reused.
        ["subsets"] = "stratified id rank",
        ["grouping"] = o.Grouping?.Description ?? "none",
    };

    /// <summary>Runs already in <c>curve.json</c> of the same dataset, backbone, evaluation set and settings.</summary>
    private static List<CurveRun> Resume(string outDir, string dataset, string backbone, CurveSplit split, IReadOnlyDictionary<string, string> settings)
    {
        var path = Path.Combine(outDir, CurveReport.JsonFileName);
        if (!File.Exists(path)) return [];
        CurveResult? previous;
        try { previous = CurveReport.ReadJson(path); }
        catch (Exception e) when (e is JsonException or NotSupportedException or OnnxTransferException) { return []; }
        if (previous is null || previous.Dataset != dataset || previous.Backbone != backbone || previous.EvalName != split.EvalName
            || previous.EvalCount != split.Eval.Count || previous.Settings.Count != settings.Count
            || settings.Any(kv => !previous.Settings.TryGetValue(kv.Key, out var v) || Canonical(kv.Key, v) != kv.Value))
            return [];
        return previous.Runs.ToList();
    }

    /// <summary>A setting as this version writes it: older curve.json files hold the training settings as PascalCase JSON.</summary>
    internal static string Canonical(string key, string value) => key switch
    {
        "head_training" => Rewritten(value, HeadsJson.Default.TrainingOptions),
        "fine_tune" => Rewritten(value, FineTuningJson.Default.FineTuneOptions),
        _ => value,
    };

    private static string Rewritten<T>(string json, JsonTypeInfo<T> info)
    {
        try { return JsonText.Read(json, info) is { } value ? JsonText.Write(value, info, indented: false) : json; }
        catch (Exception e) when (e is JsonException or OnnxTransferException) { return json; }
    }
}
