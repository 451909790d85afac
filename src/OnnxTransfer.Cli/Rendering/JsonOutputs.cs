using System.Text.Json.Nodes;
using OnnxTransfer.Evaluation;
using OnnxTransfer.Export;
using OnnxTransfer.Features;
using OnnxTransfer.Onnx;
using OnnxTransfer.Training.Engine;
using OnnxTransfer.Training.Heads;

namespace OnnxTransfer.Cli.Rendering;

/// <summary>What <c>fit --json</c> prints: the model, the held-out evaluation, and how it was trained (head only or fine-tuned).</summary>
internal sealed record FitOutput(string Model, IReadOnlyList<string> Classes, SplitCounts Split, string? Report, EvaluationSummary? Evaluation)
{
    /// <summary>Head only: the trained head folder.</summary>
    public string? Head { get; init; }
    /// <summary>Head only: the cached feature store.</summary>
    public string? Features { get; init; }
    /// <summary>Head only: the extraction run.</summary>
    public FeatureExtractionSummary? Extraction { get; init; }
    /// <summary>Head only: the head's final numbers (as in head.json).</summary>
    public HeadMetrics? Training { get; init; }
    /// <summary>Fine-tuned: which backbone layers were trained.</summary>
    public string? Unfrozen { get; init; }
    /// <summary>Fine-tuned: per-epoch metrics.</summary>
    public IReadOnlyList<EpochMetrics>? Epochs { get; init; }

    public static FitOutput From(FitResult r) =>
        new(Path.GetFullPath(r.ModelPath), r.Training.Info.Classes, SplitCounts.From(r.Split), Full(r.ReportPath), EvaluationSummary.From(r.Report))
        {
            Head = Path.GetFullPath(r.HeadDirectory),
            Features = Path.GetFullPath(r.FeaturesPath),
            Extraction = r.Extraction,
            Training = r.Training.Info.Metrics,
        };

    public static FitOutput From(FineTuneFitResult r) =>
        new(Path.GetFullPath(r.ModelPath), r.Result.Classes, SplitCounts.From(r.Split), Full(r.ReportPath), EvaluationSummary.From(r.Report))
        {
            Unfrozen = r.Result.Model.Metadata.GetValueOrDefault(OnnxTransfer.Training.FineTuning.FineTuner.UnfrozenMetadataKey),
            Epochs = r.Result.History,
        };

    private static string? Full(string? path) => path is null ? null : Path.GetFullPath(path);
}

/// <summary>Items per part of a split and where validation and evaluation came from.</summary>
internal sealed record SplitCounts(int Train, int Validation, int Evaluation, string ValidationFrom, string EvaluationFrom)
{
    public static SplitCounts From(OnnxTransfer.Data.DataSplit s) =>
        new(s.Train.Count, s.Validation.Count, s.Evaluation.Count, s.ValidationName, s.EvaluationName);
}

/// <summary>The headline numbers of an evaluation report; undefined ones (an AUC with one class present) are null.</summary>
internal sealed record EvaluationSummary(string Split, int N, double? Accuracy, double? BalancedAccuracy, double? MacroF1, double? RocAuc, double? LogLoss)
{
    public static EvaluationSummary? From(EvaluationReport? r) => r is null ? null
        : new(r.Context.GetValueOrDefault("split", ""), r.N, Finite(r.Accuracy), Finite(r.BalancedAccuracy), Finite(r.MacroF1), Finite(r.RocAuc), Finite(r.LogLoss));

    private static double? Finite(double v) => double.IsFinite(v) ? v : null;
}

/// <summary>What <c>train --json</c> prints: the head folder, what the head is, its final numbers and every epoch.</summary>
internal sealed record TrainOutput(string Head, string Spec, HeadTask Task, IReadOnlyList<string> Classes, int FeatureDimension,
    HeadMetrics Metrics, IReadOnlyList<EpochMetrics> Epochs, string? LearningCurves)
{
    public static TrainOutput From(TrainingResult r, string? learningCurves) =>
        new(Path.GetFullPath(r.HeadDirectory), r.Info.Spec, r.Info.Task, r.Info.Classes, r.Info.FeatureDimension, r.Info.Metrics, r.History, learningCurves);
}

/// <summary>What <c>export --json</c> prints: the file, its interface and the metadata it carries.</summary>
internal sealed record ExportOutput(string Model, long Bytes, IReadOnlyList<TensorEntry> Inputs, IReadOnlyList<TensorEntry> Outputs,
    IReadOnlyList<string> Labels, string InputKind, string? Preprocessing, string? FrontEnd, string? Backbone, string? BackboneSha256,
    string? FeatureTensor, string? Head, string? Task, string ToolVersion)
{
    public static ExportOutput From(OnnxModel model, string path)
    {
        var m = ModelMetadata.Read(model);
        var inputs = model.Graph.Input.Where(i => model.Graph.Initializer.All(t => t.Name != i.Name)).Select(i => TensorEntry.From(TensorInfo.FromValueInfo(i)));
        var outputs = model.Graph.Output.Select(o => TensorEntry.From(TensorInfo.FromValueInfo(o)));
        return new ExportOutput(Path.GetFullPath(path), new FileInfo(path).Length, inputs.ToArray(), outputs.ToArray(), m.Labels, m.InputKind.ToString(),
            m.Preprocessing, m.FrontEnd, m.Backbone, m.BackboneSha256, m.FeatureTensor, m.Head, m.Task, m.ToolVersion);
    }
}

/// <summary>A model input or output: name, element type and shape (numbers, symbolic dimensions as their names; null when unknown).</summary>
internal sealed record TensorEntry(string Name, string ElementType, JsonArray? Shape)
{
    public static TensorEntry From(TensorInfo t) => new(t.Name, t.ElementTypeName, ShapeOf(t));

    /// <summary>Dimensions as numbers, symbolic ones as their names; null when the rank is unknown.</summary>
    public static JsonArray? ShapeOf(TensorInfo t) => t.Shape is null
        ? null
        : new JsonArray(t.Shape.Select(d => d.Value is { } v ? JsonValue.Create(v) : (JsonNode?)JsonValue.Create(d.ToString())).ToArray());
}

/// <summary>One line of <c>wakeword detect --json</c>.</summary>
internal sealed record DetectionLine(string File, string WakeWord, double Time, double Score);
