namespace OnnxTransfer.Evaluation;

/// <summary>One evaluated item: what it is, what it should be, what the model said. A row of <c>predictions.csv</c>.</summary>
/// <param name="Path">The item's file (or its id when it has no file).</param>
/// <param name="TrueLabel">The label it carries in the dataset.</param>
/// <param name="PredictedLabel">The arg-max class (the first on ties, as <see cref="ClassificationMetrics"/> counts it).</param>
/// <param name="Scores">The probability of each class, in the report's class order.</param>
/// <param name="Split">The dataset split the item came from.</param>
public sealed record PredictionRow(string Path, string TrueLabel, string PredictedLabel, IReadOnlyList<float> Scores, string Split)
{
    /// <summary>Whether the prediction is wrong.</summary>
    public bool IsMisclassified => !string.Equals(TrueLabel, PredictedLabel, StringComparison.Ordinal);

    /// <summary>
    /// The rows of a scored set: <paramref name="probabilities"/> is row-major [N, C] in <paramref name="classes"/> order, one
    /// row per path; <paramref name="rows"/> picks a subset (all when null).
    /// </summary>
    public static PredictionRow[] From(IReadOnlyList<string> paths, IReadOnlyList<string> labels, IReadOnlyList<string> splits,
        float[] probabilities, IReadOnlyList<string> classes, IReadOnlyList<int>? rows = null)
    {
        var c = classes.Count;
        var sample = rows ?? Enumerable.Range(0, paths.Count).ToArray();
        return sample.Select(i =>
        {
            var scores = probabilities.AsSpan(i * c, c).ToArray();
            var predicted = 0;
            for (var k = 1; k < c; k++)
                if (scores[k] > scores[predicted]) predicted = k;
            return new PredictionRow(paths[i], labels[i], classes[predicted], scores, splits[i]);
        }).ToArray();
    }
}
