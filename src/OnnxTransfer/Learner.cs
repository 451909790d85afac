using OnnxTransfer.Backbones;
using OnnxTransfer.Data;
using OnnxTransfer.Evaluation;
using OnnxTransfer.Export;
using OnnxTransfer.Features;
using OnnxTransfer.Runtime;
using OnnxTransfer.Training.Engine;
using OnnxTransfer.Training.Heads;
using OnnxTransfer.Training.FineTuning;

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

    /// <summary>At most this many labelled examples per class for training, the early-stopping carve included (the few-shot case); null uses all.</summary>
    public int? PerClass { get; init; }

    /// <summary>Fraction held out for reporting when the dataset has no val/test split.</summary>
    public double HoldoutFraction { get; init; } = 0.2;

    /// <summary>
    /// Backbone layers to fine-tune with the head (0 = head only, on cached features; <see cref="AutoUnfreeze"/> = <see cref="UnfreezeRule"/>).
    /// On a backbone whose layers all sit in residual blocks (ResNet) it counts whole blocks: 1 = the last residual block.
    /// </summary>
    public int Unfreeze { get; init; }

    /// <summary><see cref="Unfreeze"/> value asking <see cref="UnfreezeRule"/> to choose from the data.</summary>
    public const int AutoUnfreeze = -1;

    /// <summary>How fine-tuning trains when <see cref="Unfreeze"/> is not 0 (its Unfreeze is replaced by the chosen count).</summary>
    public FineTuneOptions FineTune { get; init; } = new();

    /// <summary>Read dataset items that resolve outside the dataset's folder (see <see cref="DatasetLoadOptions.AllowOutsidePaths"/>).</summary>
    public bool AllowOutsidePaths { get; init; }

    /// <summary>
    /// Items that must stay on one side of every split (hold-out and early-stopping validation), e.g.
    /// <c>ItemGrouping.FileNamePattern(@"person(\d+)_")</c> for one patient's scans; null = none.
    /// </summary>
    public ItemGrouping? Grouping { get; init; }
}

/// <summary>What one <see cref="Learner.FineTuneAsync"/> call produced.</summary>
/// <param name="ModelPath">The exported single-file model.</param>
/// <param name="Result">The fine-tuning run (history, timings, graphs).</param>
/// <param name="TrainItems">Images trained on (the early-stopping items excluded).</param>
/// <param name="Report">Metrics of the exported model on the held-out images (null when none).</param>
/// <param name="ReportPath">Where the report was written.</param>
/// <param name="Split">Which items trained, drove early stopping and were evaluated.</param>
public sealed record FineTuneFitResult(string ModelPath, FineTuneResult Result, int TrainItems, EvaluationReport? Report, string? ReportPath, DataSplit Split);

/// <summary>What one <see cref="Learner.FitAsync"/> call produced.</summary>
/// <param name="ModelPath">The exported single-file model.</param>
/// <param name="HeadDirectory">The trained head (graphs, checkpoint, head.json).</param>
/// <param name="FeaturesPath">The cached feature store (re-runs resume from it).</param>
/// <param name="Training">The training run.</param>
/// <param name="Report">Metrics on the held-out rows (null when nothing could be held out).</param>
/// <param name="ReportPath">Where the report was written.</param>
/// <param name="Extraction">The extraction run.</param>
/// <param name="Split">Which items trained, drove early stopping and were evaluated (unreadable items are in it but have no rows).</param>
public sealed record FitResult(string ModelPath, string HeadDirectory, string FeaturesPath, TrainingResult Training,
    EvaluationReport? Report, string? ReportPath, FeatureExtractionSummary Extraction, DataSplit Split);

/// <summary>
/// Transfer learning in one object, fastai-style: pick a backbone, then <see cref="FitAsync"/> does
/// extract → train → evaluate → export with good defaults. Every step is also a public method
/// (<see cref="ExtractAsync"/>, <see cref="Train"/>, <see cref="Evaluate"/>, <see cref="ExportAsync"/>), and each
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
    private readonly ResourceGuard _guard = new(nameof(Learner));

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
        var fb = await FeatureBackbone.LoadAsync(backbone, options.Backbone, progress, ct, registry).ConfigureAwait(false);
        return new Learner(fb, options);
    }

    /// <summary>Loads a dataset (class folders, split folders or CSV) with the file types the backbone reads.</summary>
    public Dataset LoadDataset(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        _guard.ThrowIfClosed();
        return Backbone.LoadDataset(path, Options.AllowOutsidePaths);
    }

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
        ArgumentNullException.ThrowIfNull(dataset);
        ArgumentException.ThrowIfNullOrEmpty(featuresPath);
        using var lease = _guard.Enter();
        var summary = await Backbone.ExtractAsync(dataset.Items, featuresPath, Options.Extraction, progress, ct).ConfigureAwait(false);
        var table = await FeatureStore.ReadAsync(summary.Output, ct).ConfigureAwait(false);
        return (table, summary);
    }

    /// <summary>
    /// The items of a run with <paramref name="training"/> (its seed and validation fraction) and this learner's hold-out
    /// fraction, per-class limit and grouping (<see cref="DataSplit.Plan"/>). Head training and fine-tuning both use it, so
    /// with the same seed they report on the same items (a linear head solved by L-BFGS also trains on the items the
    /// others watch for early stopping: it chooses its L2 strength on the training items itself).
    /// </summary>
    public DataSplit Split(IReadOnlyList<DatasetItem> items, TrainingOptions training) => DataSplit.Plan(items, new DataSplitOptions
    {
        HoldoutFraction = Options.HoldoutFraction, ValidationFraction = training.ValidationFraction, Seed = training.Seed,
        PerClass = Options.PerClass, Grouping = Options.Grouping,
    });

    /// <summary>
    /// Splits <paramref name="features"/> by <see cref="Split"/> (its rows as items) and trains a head into <paramref name="headDir"/>.
    /// </summary>
    public (TrainingResult Result, DataSplit Split) Train(FeatureTable features, string headDir,
        IProgress<ProgressUpdate>? progress = null, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(features);
        var items = Enumerable.Range(0, features.Count).Select(i => new DatasetItem(features.Paths[i], features.Paths[i], features.Labels[i], features.Splits[i])).ToArray();
        var split = HeadSplit(items);
        return (Train(features, split, headDir, progress, ct), split);
    }

    /// <summary>
    /// <see cref="Split"/> for head training. A linear head solved by L-BFGS chooses its L2 strength on the training items
    /// itself (5-fold cross-validation up to 2,000 rows, else a carve and a refit on all; a group's items on one side), so no
    /// item is set aside for it: a carve of few items chooses close to at random.
    /// </summary>
    private DataSplit HeadSplit(IReadOnlyList<DatasetItem> items)
    {
        if (!SolverChoosesL2) return Split(items, Options.Training);
        var split = Split(items, Options.Training with { ValidationFraction = 0 });
        return split.Validation.Count > 0 ? split // the dataset's own val split (beside a test split) still chooses
            : split with { ValidationName = FormattableString.Invariant($"none (the linear head chooses its L2 strength on the training items, seed {Options.Training.Seed})") };
    }

    private bool SolverChoosesL2 => Options.Training.ValidationFraction > 0
        && Options.Training.Optimizer.ResolveFor(Options.Training.Spec.IsLinear).Kind == OptimizerKind.Lbfgs;

    /// <summary>
    /// Trains a head into <paramref name="headDir"/> on the rows of <paramref name="split"/>'s training items; early stopping
    /// watches its validation items (none: no early stopping, or a linear L-BFGS head choosing its L2 strength on the
    /// training items). Rows are matched by item id.
    /// </summary>
    public TrainingResult Train(FeatureTable features, DataSplit split, string headDir,
        IProgress<ProgressUpdate>? progress = null, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(features);
        ArgumentNullException.ThrowIfNull(split);
        ArgumentException.ThrowIfNullOrEmpty(headDir);
        using var lease = _guard.Enter();
        var val = Rows(features, split.Validation);
        // The split already chose the early-stopping rows; the trainer must not carve its own out of the training rows,
        // except for the L2 choice of an L-BFGS head, which uses every training row (HeadSplit).
        var training = Options.Training with
        {
            FeatureSource = $"{Backbone.Name}:{Backbone.FeatureTensor}",
            ValidationFraction = val.Count == 0 && SolverChoosesL2 ? Options.Training.ValidationFraction : 0,
        };
        using var sessions = Backbone.TrainingSessions(training.Threads);
        var train = Rows(features, split.Train);
        // The solver carves or folds the training rows for its L2 choice: it must keep a group (one patient's scans) on one side.
        var groups = Options.Grouping is { } grouping
            ? split.Train.ToDictionary(i => i.Id, grouping.GroupOf, StringComparer.Ordinal)
            : null;
        return Trainer.Fit(train, val.Count > 0 ? val : null, training, headDir, groups is null ? null : train.Paths.Select(id => groups[id]).ToArray(),
            progress, ct, sessions);
    }

    private static FeatureTable Rows(FeatureTable features, IReadOnlyList<DatasetItem> items)
    {
        var ids = items.Select(i => i.Id).ToHashSet(StringComparer.Ordinal);
        return features.Where(i => ids.Contains(features.Paths[i]));
    }

    /// <summary>Evaluates a head on held-out features and writes report.json/report.md/plots when <paramref name="reportPath"/> is given.</summary>
    /// <param name="sessions">Creates the head's session (the device); null runs it on the CPU.</param>
    public static EvaluationReport Evaluate(string headDir, FeatureTable holdout, string? reportPath, IReadOnlyDictionary<string, string>? context = null,
        SessionFactory? sessions = null)
    {
        using var head = HeadModel.Load(headDir, sessions);
        var scored = HeadEvaluation.Score(head, holdout);
        var report = EvaluationReport.From(scored.Metrics, context, scored.Predictions);
        return reportPath is null ? report : report.Write(reportPath);
    }

    /// <summary>
    /// Merges the backbone and the head in <paramref name="headDir"/> into one self-contained ONNX model (labels and
    /// preprocessing in its metadata) and writes it atomically to <paramref name="modelPath"/>. A speech backbone gives
    /// a model on front-end embeddings [N,16,96] (<see cref="ModelExporter.ExportSpeech"/>), run on WAV files by Inference.TransferModel.
    /// </summary>
    public async Task<OnnxTransfer.Onnx.OnnxModel> ExportAsync(string headDir, string modelPath, bool embedPreprocessing = false, CancellationToken ct = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(headDir);
        ArgumentException.ThrowIfNullOrEmpty(modelPath);
        using var lease = _guard.Enter();
        var model = Backbone.Kind == BackboneKind.Speech
            ? ModelExporter.ExportSpeech(Backbone.Source.Manifest!, headDir)
            : await ModelExporter.ExportAsync(Backbone.Source, headDir, new ExportOptions
        {
            EmbedPreprocessing = embedPreprocessing, CutAt = Options.Backbone.CutAt, Pool = Options.Backbone.Pool,
        }, ct).ConfigureAwait(false);
        model.Save(modelPath);
        return model;
    }

    /// <summary>
    /// The main job in one call: load the dataset, extract its features (cached and resumable in
    /// <c>MODEL.features.parquet</c>), train a head (<c>MODEL.head/</c>), evaluate it on the held-out rows
    /// (<c>MODEL.report/</c>) and export the merged model to <paramref name="modelPath"/>.
    /// </summary>
    /// <remarks>Runs on the thread pool (the caller's thread, e.g. a UI thread, stays free); <paramref name="ct"/> stops extraction
    /// between batches and inside a session run, and training between batches.</remarks>
    public Task<FitResult> FitAsync(string dataPath, string modelPath, IProgress<ProgressUpdate>? progress = null, CancellationToken ct = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(dataPath);
        ArgumentException.ThrowIfNullOrEmpty(modelPath);
        _guard.ThrowIfClosed();
        return Task.Run(() => FitCoreAsync(dataPath, modelPath, progress, ct), ct);
    }

    private async Task<FitResult> FitCoreAsync(string dataPath, string modelPath, IProgress<ProgressUpdate>? progress, CancellationToken ct)
    {
        using var lease = _guard.Enter();
        var stem = Path.Combine(Path.GetDirectoryName(Path.GetFullPath(modelPath))!, Path.GetFileNameWithoutExtension(modelPath));
        var dataset = LoadFitDataset(dataPath);
        // Planned on the dataset's items (not the readable rows) so fine-tuning with the same seed holds out the same items,
        // and before extraction so a grouping that cannot place a file fails in seconds, not after minutes.
        var split = HeadSplit(dataset.Items);
        var (table, extraction) = await ExtractAsync(dataset, stem + ".features.parquet", progress, ct).ConfigureAwait(false);
        if (table.Count == 0)
            throw new OnnxTransferException($"{dataPath}: no item could be read (see {extraction.ErrorsFile}).");
        var headDir = stem + ".head";
        var trainClock = System.Diagnostics.Stopwatch.StartNew();
        var training = Train(table, split, headDir, progress, ct);
        var trainSeconds = trainClock.Elapsed.TotalSeconds;
        EvaluationReport? report = null;
        string? reportPath = null;
        var holdout = Rows(table, split.Evaluation);
        if (holdout.Count > 0)
        {
            reportPath = Path.Combine(stem + ".report", EvaluationReport.JsonFileName);
            var context = ReportContext(split, dataset, modelPath, training.Info.Metrics.TrainRows, training.Info.Metrics.ValRows);
            context["head"] = training.Info.Spec;
            context["timings"] = FormattableString.Invariant($"feature extraction {extraction.Seconds:F1} s, head training {trainSeconds:F1} s");
            using var sessions = Backbone.TrainingSessions(Options.Training.Threads);
            var m = training.Info.Metrics;
            var evaluated = Evaluate(headDir, holdout, null, context, sessions);
            // Feature rows carry item ids (paths relative to the dataset); the report lists the files, so it can show them.
            var files = dataset.Items.GroupBy(i => i.Id, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.First().Path, StringComparer.Ordinal);
            report = (evaluated with
            {
                Predictions = evaluated.Predictions?.Select(r => r with { Path = files.GetValueOrDefault(r.Path, r.Path) }).ToArray(),
                LearningCurve = new LearningCurve(training.History, m.BestEpoch, m.L2 is null ? "epoch" : "L2 strength tried"),
            }).Write(reportPath);
        }
        await ExportAsync(headDir, modelPath, ct: ct).ConfigureAwait(false);
        return new FitResult(Path.GetFullPath(modelPath), headDir, extraction.Output, training, report, reportPath, extraction, split);
    }

    /// <summary>
    /// The layers to unfreeze for <paramref name="dataset"/>: <see cref="LearnerOptions.Unfreeze"/> as asked (blocks turned into
    /// their layers on a ResNet-style backbone), or, for
    /// <see cref="LearnerOptions.AutoUnfreeze"/>, <see cref="UnfreezeRule"/> applied to the smallest class's training examples.
    /// </summary>
    public (int Layers, string Reason) ChooseUnfreeze(Dataset dataset)
    {
        ArgumentNullException.ThrowIfNull(dataset);
        using var lease = _guard.Enter();
        if (Options.Unfreeze == 0) return (0, "head only (asked)");
        if (Options.Unfreeze != LearnerOptions.AutoUnfreeze) return AskedUnfreeze(Options.Unfreeze);
        // The training side before the early-stopping carve (per-class limit applied): the examples the user gives to learn from.
        var train = Split(dataset.Items, Options.FineTune.Training with { ValidationFraction = 0 }).Train;
        var smallest = train.GroupBy(i => i.Label).Select(g => g.Count()).DefaultIfEmpty(0).Min();
        if (smallest < UnfreezeRule.HeadOnlyBelow || Backbone.Kind != BackboneKind.Image) return UnfreezeRule.Choose(smallest);
        // Block sizes come from the backbone itself (residual joins), so "the last block" is right beyond MobileNetV2.
        return UnfreezeRule.Choose(smallest, TrainableLayers.BlockBoundaries(FloatCut(), BackboneCutter.FeaturesOutput));
    }

    /// <summary>
    /// N layers, or on a backbone made of residual blocks throughout (ResNet: <see cref="TrainableLayers.CountsBlocks"/>)
    /// the layers of the last N whole blocks, since any other count would cut through a skip connection.
    /// </summary>
    private (int Layers, string Reason) AskedUnfreeze(int count)
    {
        if (Backbone.Kind == BackboneKind.Image && FloatCut() is var cut && TrainableLayers.CountsBlocks(cut, BackboneCutter.FeaturesOutput))
        {
            var layers = TrainableLayers.LayersOfBlocks(cut, BackboneCutter.FeaturesOutput, count);
            return (layers, $"last {count} residual block(s), {layers} layers (asked; every layer of {Backbone.Name} sits in a residual block, so N counts blocks)");
        }
        return (count, $"last {count} layer(s) (asked)");
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
    /// Fits with the last <paramref name="layers"/> backbone layers unfrozen (<see cref="FineTuner"/>) on the items of
    /// <see cref="Split"/> (the same ones head-only <see cref="FitAsync"/> uses with the same seed): early stopping watches its
    /// validation items, the exported model is scored on its evaluation items into <c>MODEL.report/</c>, and the merged model
    /// is written to <paramref name="modelPath"/>. The frozen prefix's
    /// activations are cached in <c>MODEL.activations-N.parquet</c> (resumable; a re-run reuses them), unless
    /// <see cref="FineTuneOptions.Augmentation"/> is set: then the training images run through the whole network every epoch.
    /// Training writes <c>MODEL.checkpoint-N.bin</c> after every epoch, so a rerun after an interruption continues where it
    /// stopped (same result as an uninterrupted run; a rerun with other data or options is refused until the file is
    /// deleted); the checkpoint is deleted once the model is saved.
    /// </summary>
    public Task<FineTuneFitResult> FineTuneAsync(string dataPath, string modelPath, int layers,
        IProgress<ProgressUpdate>? progress = null, CancellationToken ct = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(dataPath);
        ArgumentException.ThrowIfNullOrEmpty(modelPath);
        ArgumentOutOfRangeException.ThrowIfNegative(layers);
        _guard.ThrowIfClosed();
        return Task.Run(() => FineTuneCoreAsync(dataPath, modelPath, layers, progress, ct), ct);
    }

    private async Task<FineTuneFitResult> FineTuneCoreAsync(string dataPath, string modelPath, int layers, IProgress<ProgressUpdate>? progress, CancellationToken ct)
    {
        using var lease = _guard.Enter();
        if (Backbone.Kind != BackboneKind.Image)
            throw new OnnxTransferException($"backbone '{Backbone.Name}' is a speech backbone; fine-tuning its layers is only supported for image backbones.");
        var dataset = LoadFitDataset(dataPath);
        var split = Split(dataset.Items, Options.FineTune.Training);
        var (train, val, holdout) = (split.Train, split.Validation, split.Evaluation);

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
            // The split already chose the early-stopping items; the fine-tuner must not carve its own out of the training items.
            Training = Options.FineTune.Training with { ValidationFraction = 0 },
            Unfreeze = layers,
            ActivationStore = Options.FineTune.ActivationStore ?? $"{stem}.activations-{layers}.parquet",
            CheckpointPath = Options.FineTune.CheckpointPath ?? $"{stem}.checkpoint-{layers}.bin",
        };
        FineTuneResult result;
        using (var sessions = Backbone.TrainingSessions(Options.Training.Threads))
            result = await FineTuner.FitAsync(cut, Backbone.Source.Preprocessing, train, val.Count > 0 ? val : null, options, metadata, progress, ct, sessions)
                .ConfigureAwait(false);
        result.Model.Save(modelPath);
        File.Delete(options.CheckpointPath);

        EvaluationReport? report = null;
        string? reportPath = null;
        if (holdout.Count > 0)
        {
            using var model = OnnxTransfer.Inference.TransferModel.Load(modelPath, Backbone.Provider == SessionFactory.CpuProvider ? ExecutionDevice.Cpu : Options.Backbone.Device);
            var evaluation = ModelEvaluation.Evaluate(model, holdout, progress: progress, ct: ct);
            reportPath = Path.Combine(stem + ".report", EvaluationReport.JsonFileName);
            var context = ReportContext(split, dataset, modelPath, train.Count, val.Count);
            context["unfrozen"] = result.Model.Metadata[FineTuner.UnfrozenMetadataKey];
            context["timings"] = FormattableString.Invariant(
                $"activation cache {result.CacheTime.TotalSeconds:F1} s, {result.History.Count} epochs at {result.EpochTime.TotalSeconds:F1} s each");
            if (result.Model.Metadata.TryGetValue(FineTuner.AugmentationMetadataKey, out var augmentation)) context["augmentation"] = augmentation;
            report = (EvaluationReport.From(evaluation.Metrics, context, evaluation.Predictions) with
            {
                LearningCurve = new LearningCurve(result.History, result.KeptEpoch),
            }).Write(reportPath);
        }
        return new FineTuneFitResult(Path.GetFullPath(modelPath), result, train.Count, report, reportPath, split);
    }

    // What the report records about the data: which items it scores and which drove early stopping, so a reader can
    // tell that the score comes from items neither training nor early stopping saw.
    private Dictionary<string, string> ReportContext(DataSplit split, Dataset dataset, string modelPath, int trainRows, int validationRows)
    {
        var context = new Dictionary<string, string>
        {
            ["model"] = Path.GetFullPath(modelPath), ["dataset"] = dataset.Root, ["split"] = split.EvaluationName,
            ["early_stopping"] = split.ValidationName, ["backbone"] = Backbone.Name,
            ["train_rows"] = trainRows.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["early_stopping_rows"] = validationRows.ToString(System.Globalization.CultureInfo.InvariantCulture),
        };
        if (Options.Grouping is { } grouping) context["grouping"] = grouping.Description;
        return context;
    }

    /// <summary>Waits for calls still running on other threads (cancel long ones first), then frees the backbone; later calls throw <see cref="ObjectDisposedException"/>.</summary>
    public void Dispose()
    {
        if (_guard.Close()) Backbone.Dispose();
    }
}
