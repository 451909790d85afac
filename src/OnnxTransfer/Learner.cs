using OnnxTransfer.Backbones;
using OnnxTransfer.Data;
using OnnxTransfer.Evaluation;
using OnnxTransfer.Export;
using OnnxTransfer.Features;
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
}

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
    public Dataset LoadDataset(string path) => Backbone.LoadDataset(path);

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
        var result = Trainer.Fit(splits.Train, splits.Validation, training, headDir, progress, ct);
        return (result, splits);
    }

    /// <summary>Evaluates a head on held-out features and writes report.json/report.md/plots when <paramref name="reportPath"/> is given.</summary>
    public static EvaluationReport Evaluate(string headDir, FeatureTable holdout, string? reportPath, IReadOnlyDictionary<string, string>? context = null)
    {
        using var head = HeadModel.Load(headDir);
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
        var dataset = LoadDataset(dataPath);
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
            report = Evaluate(headDir, holdout, reportPath, new Dictionary<string, string>
            {
                ["model"] = Path.GetFullPath(modelPath), ["dataset"] = dataset.Root, ["split"] = split,
                ["backbone"] = Backbone.Name, ["train_rows"] = splits.Train.Count.ToString(System.Globalization.CultureInfo.InvariantCulture),
            });
        }
        Export(headDir, modelPath);
        return new FitResult(Path.GetFullPath(modelPath), headDir, extraction.Output, training, report, reportPath, extraction);
    }

    /// <inheritdoc />
    public void Dispose() => Backbone.Dispose();
}
