using OnnxTransfer.Features;
using OnnxTransfer.Training.Heads;

namespace OnnxTransfer.Evaluation;

/// <summary>Metrics of a scored set and the per-item predictions they were computed from.</summary>
/// <param name="Metrics">The metrics.</param>
/// <param name="Predictions">One row per item, in the input order.</param>
internal sealed record ScoredItems(ClassificationMetrics Metrics, IReadOnlyList<PredictionRow> Predictions);

/// <summary>Scores a trained head on stored features.</summary>
internal static class HeadEvaluation
{
    /// <summary>
    /// Runs <paramref name="head"/> on every row of <paramref name="table"/> and computes the metrics against
    /// the rows' labels. A label the head was not trained on is an error naming it and the head's classes.
    /// </summary>
    public static ClassificationMetrics Evaluate(HeadModel head, FeatureTable table) => Score(head, table).Metrics;

    /// <summary>As <see cref="Evaluate"/>, also returning every row's prediction (path, labels, scores, split).</summary>
    public static ScoredItems Score(HeadModel head, FeatureTable table)
    {
        if (table.Dimension != head.Dimension)
            throw new OnnxTransferException($"features have dimension {table.Dimension} but the head expects {head.Dimension}; extract them with the backbone the head was trained on.");
        var unknown = table.Labels.Where(l => !head.Classes.Contains(l)).Distinct().ToArray();
        if (unknown.Length > 0)
            throw new OnnxTransferException($"label(s) {string.Join(", ", unknown.Select(u => $"'{u}'"))} are not among the head's classes ({string.Join(", ", head.Classes)}).");
        var probabilities = head.PredictProbabilities(table);
        return new ScoredItems(ClassificationMetrics.Compute(table.Labels, probabilities, head.Classes),
            PredictionRow.From(table.Paths, table.Labels, table.Splits, probabilities, head.Classes));
    }
}
