namespace OnnxTransfer.Comparison;

/// <summary>One candidate's row of the comparison: probe scores over the folds, speed and size.</summary>
/// <param name="Backbone">Backbone name.</param>
/// <param name="Candidate">The name or .onnx path as given (what `fit --backbone` takes).</param>
/// <param name="Dimension">Feature length.</param>
/// <param name="Accuracy">Mean accuracy over the folds.</param>
/// <param name="AccuracySd">Its sample standard deviation over the folds.</param>
/// <param name="BalancedAccuracy">Mean balanced accuracy (mean per-class recall) over the folds.</param>
/// <param name="BalancedAccuracySd">Its sample standard deviation over the folds.</param>
/// <param name="FoldBalancedAccuracy">Balanced accuracy of each fold.</param>
/// <param name="ProbeRows">Training items with features (unreadable files have none).</param>
/// <param name="FeaturesPerSecond">Items per second through the extraction pipeline (decode, preprocess, backbone).</param>
/// <param name="LatencyMs">Median time of one backbone run on one preprocessed image, in milliseconds.</param>
/// <param name="ModelBytes">Size of the model file the backbone runs.</param>
/// <param name="FeaturesPath">The cached feature store.</param>
/// <param name="WholeDataset">True when the store holds every dataset item (the store `fit` would write), false when only the probe's.</param>
/// <param name="ExtractSeconds">Wall time of this run's extraction (near 0 when the store was cached).</param>
/// <param name="ProbeSeconds">Wall time of the k probe fits.</param>
internal sealed record BackboneScore(string Backbone, string Candidate, int Dimension, double Accuracy, double AccuracySd, double BalancedAccuracy,
    double BalancedAccuracySd, double[] FoldBalancedAccuracy, int ProbeRows, double FeaturesPerSecond, double LatencyMs, long ModelBytes,
    string FeaturesPath, bool WholeDataset, double ExtractSeconds, double ProbeSeconds);

/// <summary>A candidate left out of the comparison.</summary>
/// <param name="Backbone">The name or path as given.</param>
/// <param name="Reason">Why, in one line.</param>
internal sealed record SkippedBackbone(string Backbone, string Reason);

/// <summary>What <see cref="BackboneComparison"/> found.</summary>
/// <param name="Dataset">The dataset folder or manifest.</param>
/// <param name="Probe">What the probe trained and scored on, in words.</param>
/// <param name="Folds">Folds used.</param>
/// <param name="ProbeItems">Training-side items the probe used (ids): never the evaluation items `fit` reports on.</param>
/// <param name="FoldOf">The fold of each of <see cref="ProbeItems"/>.</param>
/// <param name="Scores">One row per compared backbone, in the order given.</param>
/// <param name="Skipped">Candidates that could not be compared, with the reason.</param>
/// <param name="Chosen">The winner's name.</param>
/// <param name="Reason">Why it won, in one line.</param>
internal sealed record ComparisonResult(string Dataset, string Probe, int Folds, string[] ProbeItems, int[] FoldOf,
    BackboneScore[] Scores, SkippedBackbone[] Skipped, string Chosen, string Reason)
{
    /// <summary>The winner's row.</summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public BackboneScore Winner => Scores.First(s => s.Backbone == Chosen);
}
