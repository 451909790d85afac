using OnnxTransfer.Backbones;
using OnnxTransfer.Data;
using OnnxTransfer.Evaluation;
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

    /// <summary>Resolves (pulls if needed) and cuts <paramref name="backbone"/>: a registry name or an .onnx path.</summary>
    public static async Task<Learner> CreateAsync(string backbone, LearnerOptions? options = null,
        IProgress<ProgressUpdate>? progress = null, CancellationToken ct = default)
    {
        options ??= new LearnerOptions();
        var fb = await FeatureBackbone.LoadAsync(backbone, options.Backbone, progress, ct);
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

    /// <inheritdoc />
    public void Dispose() => Backbone.Dispose();
}
