namespace OnnxTransfer.Evaluation;

/// <summary>One class's one-vs-rest scores.</summary>
/// <param name="Name">Class name.</param>
/// <param name="Precision">TP / (TP + FP); 0 when the class was never predicted.</param>
/// <param name="Recall">TP / (TP + FN); 0 when the class has no true samples.</param>
/// <param name="F1">Harmonic mean of precision and recall; 0 when both are 0.</param>
/// <param name="Support">Number of samples whose true class is this one.</param>
public sealed record ClassMetrics(string Name, double Precision, double Recall, double F1, int Support)
{
    /// <summary>Precision, recall and F1 from one class's counts (zero-division gives 0, as scikit-learn's default).</summary>
    public static ClassMetrics FromCounts(string name, long truePositives, long falsePositives, long falseNegatives)
    {
        var precision = Ratio(truePositives, truePositives + falsePositives);
        var recall = Ratio(truePositives, truePositives + falseNegatives);
        return new ClassMetrics(name, precision, recall, F1Of(precision, recall), checked((int)(truePositives + falseNegatives)));
    }

    internal static double F1Of(double precision, double recall) =>
        precision + recall == 0 ? 0 : 2 * precision * recall / (precision + recall);

    internal static double Ratio(long numerator, long denominator) => denominator == 0 ? 0 : (double)numerator / denominator;
}

/// <summary>
/// One operating point of a binary classifier: a sample is called positive when its positive-class
/// score is at least <see cref="Threshold"/>.
/// </summary>
/// <param name="Threshold">Decision threshold on the positive-class score.</param>
/// <param name="Tpr">True-positive rate (recall, sensitivity).</param>
/// <param name="Fpr">False-positive rate (1 - specificity).</param>
/// <param name="Precision">TP / (TP + FP); 1 when nothing is called positive (the precision-recall curve's convention).</param>
/// <param name="F1">F1 of the positive class at this threshold.</param>
/// <param name="Accuracy">Fraction of samples classified correctly at this threshold.</param>
public sealed record ThresholdPoint(double Threshold, double Tpr, double Fpr, double Precision, double F1, double Accuracy);
