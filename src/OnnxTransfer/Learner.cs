using OnnxTransfer.Autodiff;
using OnnxTransfer.Backbones;
using OnnxTransfer.Data;
using OnnxTransfer.Evaluation;
using OnnxTransfer.Export;
using OnnxTransfer.Features;
using OnnxTransfer.Runtime;
using OnnxTransfer.Training;

namespace OnnxTransfer;

/// <summary>Everything `fit` decides, with defaults that suit a few hundred examples.</summary>
public sealed record LearnerOptions
{
    /// <summary>How the backbone runs (device, cut tensor).</summary>
    public FeatureBackboneOptions Backbone { get; init; } = new();

    /// <summary>How features are extracted (batch, threads, max errors).</summary>
    public FeatureExtractionOptions Extraction { get; init; } = new();

    /// <summary>How the head trains.</summary>
    public TrainingOptions Training { get; init; } = new();

    /// <summary>Train on at most this many examples per class (the few-shot case); null uses all.</summary>
    public int? PerClass { get; init; }

    /// <summary>Fraction held out for reporting when the dataset has no val/test split.</summary>
    public double HoldoutFraction { get; init; } = 0.2;

    /// <summary>Backbone layers to fine-tune with the head (0 = head only, on cached features; <see cref="AutoUnfreeze"/> = <see cref="UnfreezeRule"/>).</summary>
    public int Unfreeze { get; init; }

    /// <summary><see cref="Unfreeze"/> value asking <see cref="UnfreezeRule"/> to choose from the data.</summary>
    public const int AutoUnfreeze = -1;

    /// <summary>How fine-tuning trains when <see cref="Unfreeze"/> is not 0 (its Unfreeze is replaced by the chosen count).</summary>
    public FineTuneOptions FineTune { get; init; } = new();

    /// <summary>Read dataset items that resolve outside the dataset's folder (see <see cref="DatasetLoadOptions.AllowOutsidePaths"/>).</summary>
    public bool AllowOutsidePaths { get; init; }
}

/// <summary>What one <see cref="Learner.FineTuneAsync"/> call produced.</summary>
/// <param name="ModelPath">The exported single-file model.</param>
/// <param name="Result">The fine-tuning run (history, timings, graphs).</param>
/// <param name="TrainItems">Images trained on (early-stopping hold-out excluded when it came from them).</param>
/// <param name="Report">Metrics of the exported model on the held-out images (null when none).</param>
/// <param name="ReportPath">Where the report was written.</param>
public sealed record FineTuneFitResult(string ModelPath, FineTuneResult Result, int TrainItems, EvaluationReport? Report, string? ReportPath);

/// <summary>What one <see cref="Learner.FitAsync"/> call produced.</summary>
/// <param name="ModelPath">The exported single-file model.</param>
/// <param name="HeadDirectory">The trained head (graphs, checkpoint, head.json).</param>
/// <param name="FeaturesPath">The cached feature store (re-runs resume from it).</param>
/// <param name="Training">The training run.</param>
/// <param name="Report">Metrics on the held-out rows (null when nothing could be held out).</param>
/// <param name="ReportPath">Where the report was written.</param>
/// <param name="Extraction">The extraction run.</param>
public sealed record FitResult(string ModelPath, string HeadDirectory, string FeaturesPath, TrainingResult Training,
    EvaluationReport? Report, string? ReportPath, FeatureExtractionSummary Extraction);

/// <summary>
/// Transfer learning in one object, fastai-style: pick a backbone, then <see cref="FitAsync"/> does
/// extract → train → evaluate → export with good defaults. Every step is also a public method
/// (<see cref="ExtractAsync"/>, <see cref="Train"/>, <see cref="Evaluate"/>, <see cref="Export"/>), and each
/// uses the public types of its own folder, so any step can be replaced.
/// </summary>
/// <example>
/// <code>
/// using var learner = await Learner.CreateAsync("mobilenetv2-12-int8");
/// var result = await learner.FitAsync("data/xrays", "xray.onnx");
/// Console.WriteLine(result.Report?.Accuracy);
/// </code>
/// </example>
public sealed class Learner : IDisposable
{
    private Learner(FeatureBackbone backbone, LearnerOptions options)
    {
        Backbone = backbone;
        Options = options;
    }

    /// <summary>The cut backbone producing features.</summary>
    public FeatureBackbone Backbone { get; }

    /// <summary>The options this learner was created with.</summary>
    public LearnerOptions Options { get; }

    /// <summary>
    /// Resolves (pulls if needed) and cuts <paramref name="backbone"/>: a name in <paramref name="registry"/>
    /// (default <see cref="BackboneRegistry.Default"/>) or an .onnx path.
    /// </summary>
    public static async Task<Learner> CreateAsync(string backbone, LearnerOptions? options = null,
        IProgress<ProgressUpdate>? progress = null, CancellationToken ct = default, BackboneRegistry? registry = null)
    {
        options ??= new LearnerOptions();
        var fb = await FeatureBackbone.LoadAsync(backbone, options.Backbone, progress, ct, registry);
        return new Learner(fb, options);
    }

    /// <summary>Loads a dataset (class folders, split folders or CSV) with the file types the backbone reads.</summary>
    public Dataset LoadDataset(string path) => Backbone.LoadDataset(path, Options.AllowOutsidePaths);

    // Checked before extraction, which can take minutes: a dataset fit cannot train and evaluate on.
    private Dataset LoadFitDataset(string path)
    {
        var dataset = LoadDataset(path);
        var classes = dataset.Items.GroupBy(i => i.Label, StringComparer.Ordinal).Select(g => g.Count()).ToArray();
        if (classes.Length < 2)
            throw new OnnxTransferException($"{path}: {classes.Length} class(es) found; a classifier needs at least 2 (one folder or label per class).");
        var heldOut = dataset.Items.Any(i => i.Split.ToLowerInvariant() is "val" or "valid" or "validation" or "test" or "testing");
        if (!heldOut && Options.HoldoutFraction > 0 && classes.Max() < 2)
            throw new OnnxTransferException($"{path}: each of the {classes.Length} classes has a single item, so none can be held out to evaluate the model; give every class at least 2 items (10 or more recommended), or add a val/test split.");
        return dataset;
    }

    /// <summary>Extracts (or resumes extracting) the dataset's features into <paramref name="featuresPath"/> and reads them back.</summary>
    public async Task<(FeatureTable Table, FeatureExtractionSummary Summary)> ExtractAsync(Dataset dataset, string featuresPath,
        IProgress<ProgressUpdate>? progress = null, CancellationToken ct = default)
    {
        var summary = await Backbone.ExtractAsync(dataset.Items, featuresPath, Options.Extraction, progress, ct);
        var table = await FeatureStore.ReadAsync(summary.Output, ct);
        return (table, summary);
    }

    /// <summary>
    /// Splits <paramref name="features"/> (val/test from the dataset, else a stratified hold-out), limits the
    /// training rows per class when asked, and trains a head into <paramref name="headDir"/>.
    /// </summary>
    public (TrainingResult Result, FeatureSplits Splits) Train(FeatureTable features, string headDir,
        IProgress<ProgressUpdate>? progress = null, CancellationToken ct = default)
    {
        var splits = FeatureSplits.From(features).WithHoldout(Options.HoldoutFraction, Options.Training.Seed);
        if (Options.PerClass is { } n) splits = splits.LimitTrainPerClass(n, Options.Training.Seed);
        var training = Options.Training with { FeatureSource = $"{Backbone.Name}:{Backbone.FeatureTensor}" };
        // Early stopping watches the validation split when the dataset has one, else a slice of the training rows.
        using var sessions = Backbone.TrainingSessions(training.Threads);
        var result = Trainer.Fit(splits.Train, splits.Validation, training, headDir, progress, ct, sessions);
        return (result, splits);
    }

    /// <summary>Evaluates a head on held-out features and writes report.json/report.md/plots when <paramref name="reportPath"/> is given.</summary>
    /// <param name="sessions">Creates the head's session (the device); null runs it on the CPU.</param>
    public static EvaluationReport Evaluate(string headDir, FeatureTable holdout, string? reportPath, IReadOnlyDictionary<string, string>? context = null,
        SessionFactory? sessions = null)
    {
        using var head = HeadModel.Load(headDir, sessions);
        var report = EvaluationReport.From(HeadEvaluation.Evaluate(head, holdout), context);
        return reportPath is null ? report : report.Write(reportPath);
    }

    /// <summary>
    /// Merges the backbone and the head in <paramref name="headDir"/> into one self-contained ONNX model (labels and
    /// preprocessing in its metadata) and writes it atomically to <paramref name="modelPath"/>. A speech backbone gives
    /// a model on front-end embeddings [N,16,96] (<see cref="ModelExporter.ExportSpeech"/>), run on WAV files by Inference.TransferModel.
    /// </summary>
    public OnnxTransfer.Onnx.OnnxModel Export(string headDir, string modelPath, bool embedPreprocessing = false)
    {
        var model = Backbone.Kind == BackboneKind.Speech
            ? ModelExporter.ExportSpeech(Backbone.Source.Manifest!, headDir)
            : ModelExporter.Export(Backbone.Source, headDir, new ExportOptions
        {
            EmbedPreprocessing = embedPreprocessing, CutAt = Options.Backbone.CutAt, Pool = Options.Backbone.Pool,
        });
        model.Save(modelPath);
        return model;
    }

    /// <summary>
    /// The main job in one call: load the dataset, extract its features (cached and resumable in
    /// <c>MODEL.features.parquet</c>), train a head (<c>MODEL.head/</c>), evaluate it on the held-out rows
    /// (<c>MODEL.report/</c>) and export the merged model to <paramref name="modelPath"/>.
    /// </summary>
    public async Task<FitResult> FitAsync(string dataPath, string modelPath, IProgress<ProgressUpdate>? progress = null, CancellationToken ct = default)
    {
        var stem = Path.Combine(Path.GetDirectoryName(Path.GetFullPath(modelPath))!, Path.GetFileNameWithoutExtension(modelPath));
        var dataset = LoadFitDataset(dataPath);
        var (table, extraction) = await ExtractAsync(dataset, stem + ".features.parquet", progress, ct);
        if (table.Count == 0)
            throw new OnnxTransferException($"{dataPath}: no item could be read (see {extraction.ErrorsFile}).");
        var headDir = stem + ".head";
        var (training, splits) = Train(table, headDir, progress, ct);
        EvaluationReport? report = null;
        string? reportPath = null;
        if (splits.Holdout is { } holdout)
        {
            reportPath = Path.Combine(stem + ".report", EvaluationReport.JsonFileName);
            var split = splits.Test is not null && splits.Test.Splits.All(s => s.Length == 0) ? $"stratified hold-out ({Options.HoldoutFraction:P0})" : holdout.Splits[0];
            using var sessions = Backbone.TrainingSessions(Options.Training.Threads);
            report = Evaluate(headDir, holdout, reportPath, new Dictionary<string, string>
            {
                ["model"] = Path.GetFullPath(modelPath), ["dataset"] = dataset.Root, ["split"] = split,
                ["backbone"] = Backbone.Name, ["train_rows"] = splits.Train.Count.ToString(System.Globalization.CultureInfo.InvariantCulture),
            }, sessions);
        }
        Export(headDir, modelPath);
        return new FitResult(Path.GetFullPath(modelPath), headDir, extraction.Output, training, report, reportPath, extraction);
    }

    /// <summary>
    /// The layers to unfreeze for <paramref name="dataset"/>: <see cref="LearnerOptions.Unfreeze"/> as asked, or, for
    /// <see cref="LearnerOptions.AutoUnfreeze"/>, <see cref="UnfreezeRule"/> applied to the smallest class's training examples.
    /// </summary>
    public (int Layers, string Reason) ChooseUnfreeze(Dataset dataset)
    {
        if (Options.Unfreeze != LearnerOptions.AutoUnfreeze)
            return (Options.Unfreeze, Options.Unfreeze == 0 ? "head only (asked)" : $"last {Options.Unfreeze} layer(s) (asked)");
        var (train, _) = FineTuneSplits(dataset);
        var smallest = train.GroupBy(i => i.Label).Select(g => g.Count()).DefaultIfEmpty(0).Min();
        if (Options.PerClass is { } perClass) smallest = Math.Min(smallest, perClass);
        if (smallest < UnfreezeRule.HeadOnlyBelow || Backbone.Kind != BackboneKind.Image) return UnfreezeRule.Choose(smallest);
        // Block sizes come from the backbone itself (residual joins), so "the last block" is right beyond MobileNetV2.
        return UnfreezeRule.Choose(smallest, TrainableLayers.BlockBoundaries(FloatCut(), BackboneCutter.FeaturesOutput));
    }

    private OnnxTransfer.Onnx.OnnxModel? _floatCut;

    /// <summary>
    /// The cut backbone as a float model (dequantized when the source is quantized), as fine-tuning trains it. Built once
    /// (dequantizing and cutting cost seconds; <see cref="ChooseUnfreeze"/> and <see cref="FineTuneAsync"/> both need it); each caller gets a copy.
    /// </summary>
    private OnnxTransfer.Onnx.OnnxModel FloatCut() => (_floatCut ??= BuildFloatCut()).Clone();

    private OnnxTransfer.Onnx.OnnxModel BuildFloatCut()
    {
        var source = OnnxTransfer.Onnx.OnnxModel.Load(Backbone.Source.ModelPath);
        var tensor = Backbone.FeatureTensor;
        if (OnnxTransfer.Onnx.Dequantizer.IsQuantized(source))
        {
            var dequantized = OnnxTransfer.Onnx.Dequantizer.Dequantize(source);
            source = dequantized.Model;
            tensor = dequantized.FloatTensors.GetValueOrDefault(tensor, tensor);
        }
        return BackboneCutter.Cut(source, new CutOptions { At = tensor, Pool = Options.Backbone.Pool });
    }

    /// <summary>
    /// Fits with the last <paramref name="layers"/> backbone layers unfrozen (<see cref="FineTuner"/>): training images
    /// come from the "train" split (all images when there are no splits, minus a stratified hold-out), early stopping
    /// watches the "val" split when there is one, the exported model is scored on the test split (else val, else the hold-out)
    /// into <c>MODEL.report/</c>, and the merged model is written to <paramref name="modelPath"/>. The frozen prefix's
    /// activations are cached in <c>MODEL.activations-N.parquet</c> (resumable; a re-run reuses them), unless
    /// <see cref="FineTuneOptions.Augmentation"/> is set: then the training images run through the whole network every epoch.
    /// Training writes <c>MODEL.checkpoint-N.bin</c> after every epoch, so a rerun after an interruption continues where it
    /// stopped (same result as an uninterrupted run; a rerun with other data or options is refused until the file is
    /// deleted); the checkpoint is deleted once the model is saved.
    /// </summary>
    public Task<FineTuneFitResult> FineTuneAsync(string dataPath, string modelPath, int layers,
        IProgress<ProgressUpdate>? progress = null, CancellationToken ct = default) => Task.Run(() =>
    {
        if (Backbone.Kind != BackboneKind.Image)
            throw new OnnxTransferException($"backbone '{Backbone.Name}' is a speech backbone; fine-tuning its layers is only supported for image backbones.");
        var dataset = LoadFitDataset(dataPath);
        var (train, holdout) = FineTuneSplits(dataset);
        if (Options.PerClass is { } n)
        {
            // A seeded random n per class, like the head path's LimitTrainPerClass.
            var rng = new SeededRandom(Options.Training.Seed);
            train = train.GroupBy(i => i.Label).SelectMany(g => { var a = g.ToArray(); rng.Shuffle(a.AsSpan()); return a.Take(n); }).ToArray();
        }
        var val = dataset.Items.Where(i => i.Split == "val").ToArray();

        var cut = FloatCut();
        var metadata = new ModelMetadata
        {
            Labels = [], InputKind = ModelInputKind.ImageTensor, Preprocessing = Backbone.Source.Preprocessing.ToString(),
            Backbone = Backbone.Name, BackboneSha256 = Backbone.Sha256, FeatureTensor = Backbone.FeatureTensor,
        };
        var stem = Path.Combine(Path.GetDirectoryName(Path.GetFullPath(modelPath))!, Path.GetFileNameWithoutExtension(modelPath));
        // Resumable and reused by re-runs; the name carries the layer count because the boundary moves with it.
        // The checkpoint lets an interrupted run (Ctrl-C, kill) continue on rerun; it only lives until the model is saved.
        var options = Options.FineTune with
        {
            Unfreeze = layers,
            ActivationStore = Options.FineTune.ActivationStore ?? $"{stem}.activations-{layers}.parquet",
            CheckpointPath = Options.FineTune.CheckpointPath ?? $"{stem}.checkpoint-{layers}.bin",
        };
        FineTuneResult result;
        using (var sessions = Backbone.TrainingSessions(Options.Training.Threads))
            result = FineTuner.Fit(cut, Backbone.Source.Preprocessing, train, val.Length > 0 ? val : null, options, metadata, progress, ct, sessions);
        result.Model.Save(modelPath);
        File.Delete(options.CheckpointPath);

        EvaluationReport? report = null;
        string? reportPath = null;
        if (holdout.Count > 0)
        {
            using var model = OnnxTransfer.Inference.TransferModel.Load(modelPath, Backbone.Provider == SessionFactory.CpuProvider ? ExecutionDevice.Cpu : Options.Backbone.Device);
            var evaluation = ModelEvaluation.Evaluate(model, holdout, progress: progress, ct: ct);
            reportPath = Path.Combine(stem + ".report", EvaluationReport.JsonFileName);
            var context = new Dictionary<string, string>
            {
                ["model"] = Path.GetFullPath(modelPath), ["dataset"] = dataset.Root, ["split"] = holdout[0].Split.Length > 0 && holdout.All(i => i.Split == holdout[0].Split) ? holdout[0].Split : "hold-out",
                ["backbone"] = Backbone.Name, ["unfrozen"] = result.Model.Metadata[FineTuner.UnfrozenMetadataKey],
            };
            if (result.Model.Metadata.TryGetValue(FineTuner.AugmentationMetadataKey, out var augmentation)) context["augmentation"] = augmentation;
            report = EvaluationReport.From(evaluation.Metrics, context).Write(reportPath);
        }
        return new FineTuneFitResult(Path.GetFullPath(modelPath), result, train.Count, report, reportPath);
    }, ct);

    /// <summary>Training images and the images to report on (test split, else val, else a stratified hold-out of the rest).</summary>
    private (IReadOnlyList<DatasetItem> Train, IReadOnlyList<DatasetItem> Holdout) FineTuneSplits(Dataset dataset)
    {
        var items = dataset.Items.Where(i => i.Label.Length > 0).ToArray();
        var train = items.Where(i => i.Split == "train").ToArray();
        var test = items.Where(i => i.Split == "test").ToArray();
        var val = items.Where(i => i.Split == "val").ToArray();
        if (train.Length > 0) return (train, test.Length > 0 ? test : val);
        var classes = items.Select(i => i.Label).Distinct().Order(StringComparer.Ordinal).ToArray();
        var set = TrainingSet.SingleLabel(new float[items.Length], 1, items.Select(i => Array.BinarySearch(classes, i.Label, StringComparer.Ordinal)).ToArray(), classes);
        var (t, h) = Trainer.StratifiedSplit(set, Options.HoldoutFraction, Options.Training.Seed);
        return (t.Select(i => items[i]).ToArray(), h.Select(i => items[i]).ToArray());
    }

    /// <inheritdoc />
    public void Dispose() => Backbone.Dispose();
}
