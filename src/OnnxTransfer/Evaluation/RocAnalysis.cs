namespace OnnxTransfer.Evaluation;

/// <summary>
/// Ranking metrics of a score against binary truth: ROC-AUC by the rank (Mann-Whitney U) formulation,
/// where a tied positive/negative pair counts one half, and the ROC / threshold sweep.
/// </summary>
internal static class RocAnalysis
{
    /// <summary>
    /// Area under the ROC curve: the probability that a random positive scores above a random negative,
    /// ties counting one half. NaN when there are no positives or no negatives. O(n log n).
    /// </summary>
    public static double Auc(IReadOnlyList<double> scores, IReadOnlyList<bool> positive)
    {
        CheckLengths(scores, positive);
        var n = scores.Count;
        var order = Enumerable.Range(0, n).ToArray();
        var keys = scores.ToArray();
        Array.Sort(keys, order);
        // Sum of the positives' 1-based ranks in ascending order, tied runs taking their average rank.
        double rankSum = 0;
        long positives = 0;
        for (var start = 0; start < n;)
        {
            var end = start;
            while (end + 1 < n && keys[end + 1] == keys[start]) end++;
            var averageRank = (start + end) / 2.0 + 1;
            for (var k = start; k <= end; k++)
                if (positive[order[k]]) { rankSum += averageRank; positives++; }
            start = end + 1;
        }
        long negatives = n - positives;
        if (positives == 0 || negatives == 0) return double.NaN;
        return (rankSum - positives * (positives + 1) / 2.0) / ((double)positives * negatives);
    }

    /// <summary>
    /// The ROC points with their thresholds, from "nothing positive" (first point, threshold just above the
    /// top score) down to the lowest score (everything positive). Points that lie on a straight line
    /// between their neighbours are dropped when <paramref name="dropCollinear"/> (as scikit-learn's
    /// drop_intermediate): that keeps the curve, its trapezoid area, and the best F1 and accuracy, which
    /// along a straight ROC segment are reached at one of its ends.
    /// </summary>
    public static IReadOnlyList<ThresholdPoint> Sweep(IReadOnlyList<double> scores, IReadOnlyList<bool> positive, bool dropCollinear = true)
    {
        CheckLengths(scores, positive);
        var n = scores.Count;
        if (n == 0) return [];
        var order = Enumerable.Range(0, n).ToArray();
        var keys = scores.Select(s => -s).ToArray(); // descending
        Array.Sort(keys, order);
        long totalPositives = positive.Count(p => p), totalNegatives = n - totalPositives;

        var counts = new List<(double Threshold, long Tp, long Fp)> { (Math.BitIncrement(scores[order[0]]), 0, 0) };
        long tp = 0, fp = 0;
        for (var start = 0; start < n;)
        {
            var end = start;
            while (end + 1 < n && keys[end + 1] == keys[start]) end++;
            for (var k = start; k <= end; k++)
                if (positive[order[k]]) tp++; else fp++;
            counts.Add((scores[order[start]], tp, fp));
            start = end + 1;
        }

        var kept = new List<(double Threshold, long Tp, long Fp)>(counts.Count);
        for (var i = 0; i < counts.Count; i++)
        {
            if (dropCollinear && i > 0 && i < counts.Count - 1)
            {
                var (_, tp0, fp0) = counts[i - 1];
                var (_, tp1, fp1) = counts[i];
                var (_, tp2, fp2) = counts[i + 1];
                if ((tp1 - tp0) * (fp2 - fp1) == (tp2 - tp1) * (fp1 - fp0)) continue;
            }
            kept.Add(counts[i]);
        }
        return kept.Select(c => Point(c.Threshold, c.Tp, c.Fp, totalPositives, totalNegatives)).ToArray();
    }

    /// <summary>Trapezoid area under the (FPR, TPR) points of a sweep; equals <see cref="Auc"/> for a full sweep.</summary>
    public static double TrapezoidArea(IReadOnlyList<ThresholdPoint> sweep)
    {
        double area = 0;
        for (var i = 1; i < sweep.Count; i++)
            area += (sweep[i].Fpr - sweep[i - 1].Fpr) * (sweep[i].Tpr + sweep[i - 1].Tpr) / 2;
        return area;
    }

    private static ThresholdPoint Point(double threshold, long tp, long fp, long positives, long negatives)
    {
        var fn = positives - tp;
        var tn = negatives - fp;
        var precision = tp + fp == 0 ? 1.0 : (double)tp / (tp + fp);
        var recall = ClassMetrics.Ratio(tp, positives);
        var f1 = tp == 0 ? 0 : 2.0 * tp / (2.0 * tp + fp + fn);
        return new ThresholdPoint(threshold, recall, ClassMetrics.Ratio(fp, negatives), precision, f1,
            (double)(tp + tn) / (positives + negatives));
    }

    private static void CheckLengths(IReadOnlyList<double> scores, IReadOnlyList<bool> positive)
    {
        if (scores.Count != positive.Count)
            throw new OnnxTransferException($"scores and labels differ in length ({scores.Count} vs {positive.Count}); pass one score per sample.");
        foreach (var s in scores)
            if (double.IsNaN(s))
                throw new OnnxTransferException("a score is NaN; the model produced non-finite outputs — check the model and its inputs.");
    }
}
