namespace OnnxTransfer.Evaluation;

/// <summary>
/// Multi-label metrics: each sample may carry any subset of the labels, each label scored by an
/// independent probability (sigmoid). A label is predicted when its probability is at least the threshold.
/// </summary>
public sealed class MultiLabelMetrics
{
    private MultiLabelMetrics(string[] labels, int n, double threshold) { Labels = labels; N = n; Threshold = threshold; }

    /// <summary>Label names, in column order.</summary>
    public IReadOnlyList<string> Labels { get; }

    /// <summary>Number of samples.</summary>
    public int N { get; }

    /// <summary>The decision threshold used.</summary>
    public double Threshold { get; }

    /// <summary>Fraction of samples whose whole predicted label set equals the true set.</summary>
    public double SubsetAccuracy { get; private init; }

    /// <summary>Fraction of (sample, label) decisions that are wrong.</summary>
    public double HammingLoss { get; private init; }

    /// <summary>F1 from the TP/FP/FN counts pooled over all labels.</summary>
    public double MicroF1 { get; private init; }

    /// <summary>Unweighted mean of the per-label F1.</summary>
    public double MacroF1 { get; private init; }

    /// <summary>Mean ROC-AUC over the labels that have both positives and negatives (NaN if none).</summary>
    public double MacroRocAuc { get; private init; }

    /// <summary>Precision, recall, F1 and support of each label.</summary>
    public IReadOnlyList<ClassMetrics> PerLabel { get; private init; } = [];

    /// <summary>ROC-AUC of each label (NaN when undefined).</summary>
    public IReadOnlyList<double> LabelRocAuc { get; private init; } = [];

    /// <summary>Computes the metrics from row-major [N, L] truth and probabilities.</summary>
    public static MultiLabelMetrics Compute(bool[] truth, float[] probabilities, IReadOnlyList<string> labels, double threshold = 0.5)
    {
        var l = labels.Count;
        if (l == 0)
            throw new OnnxTransferException("multi-label metrics need at least one label.");
        if (truth.Length != probabilities.Length || truth.Length % l != 0 || truth.Length == 0)
            throw new OnnxTransferException($"truth ({truth.Length}) and probabilities ({probabilities.Length}) must both hold N x {l} values with N > 0.");
        var n = truth.Length / l;
        var tp = new long[l];
        var fp = new long[l];
        var fn = new long[l];
        long exact = 0, wrong = 0;
        for (var i = 0; i < n; i++)
        {
            var allRight = true;
            for (var k = 0; k < l; k++)
            {
                var p = probabilities[i * l + k];
                if (!(p >= 0 && p <= 1))
                    throw new OnnxTransferException($"sample {i} label {labels[k]} has probability {p}, outside [0, 1]; pass sigmoid outputs.");
                bool predicted = p >= threshold, actual = truth[i * l + k];
                if (predicted && actual) tp[k]++;
                else if (predicted) fp[k]++;
                else if (actual) fn[k]++;
                if (predicted != actual) { allRight = false; wrong++; }
            }
            if (allRight) exact++;
        }
        var perLabel = Enumerable.Range(0, l).Select(k => ClassMetrics.FromCounts(labels[k], tp[k], fp[k], fn[k])).ToArray();
        var auc = Enumerable.Range(0, l).Select(k => RocAnalysis.Auc(
            Enumerable.Range(0, n).Select(i => (double)probabilities[i * l + k]).ToArray(),
            Enumerable.Range(0, n).Select(i => truth[i * l + k]).ToArray())).ToArray();
        var defined = auc.Where(a => !double.IsNaN(a)).ToArray();
        long sumTp = tp.Sum(), sumFp = fp.Sum(), sumFn = fn.Sum();
        return new MultiLabelMetrics(labels.ToArray(), n, threshold)
        {
            SubsetAccuracy = (double)exact / n,
            HammingLoss = (double)wrong / ((long)n * l),
            MicroF1 = sumTp == 0 ? 0 : 2.0 * sumTp / (2.0 * sumTp + sumFp + sumFn),
            MacroF1 = perLabel.Average(m => m.F1),
            MacroRocAuc = defined.Length == 0 ? double.NaN : defined.Average(),
            PerLabel = perLabel,
            LabelRocAuc = auc,
        };
    }
}
