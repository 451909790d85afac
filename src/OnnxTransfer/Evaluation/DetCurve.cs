namespace OnnxTransfer.Evaluation;

/// <summary>One point of a detection-error-tradeoff curve for a detector run over a stream (wake words).</summary>
/// <param name="Threshold">Score threshold: a detection is a score at or above it.</param>
/// <param name="FalseRejectRate">Fraction of positive clips that were missed.</param>
/// <param name="FalseAcceptsPerHour">False detections per hour of negative audio.</param>
public sealed record DetPoint(double Threshold, double FalseRejectRate, double FalseAcceptsPerHour);

/// <summary>Builds DET points from scores.</summary>
public static class DetCurve
{
    /// <summary>
    /// DET points at each threshold: FRR = positives scoring below it; false accepts = negative scores at or
    /// above it, divided by <paramref name="negativeHours"/>. Each negative score counts as one false accept,
    /// so pass one score per detection opportunity (e.g. the per-activation maxima after the caller's
    /// debounce), not every overlapping frame of a stream, or the rate is overstated.
    /// </summary>
    public static IReadOnlyList<DetPoint> FromScores(IReadOnlyList<double> positiveScores, IReadOnlyList<double> negativeScores,
        double negativeHours, IReadOnlyList<double> thresholds)
    {
        if (positiveScores.Count == 0)
            throw new OnnxTransferException("a DET curve needs at least one positive clip score.");
        if (!(negativeHours > 0))
            throw new OnnxTransferException($"negative audio duration must be positive hours, got {negativeHours}.");
        var positives = positiveScores.Order().ToArray();
        var negatives = negativeScores.Order().ToArray();
        return thresholds.Order().Select(t => new DetPoint(t,
            (double)CountBelow(positives, t) / positives.Length,
            (negatives.Length - CountBelow(negatives, t)) / negativeHours)).ToArray();
    }

    /// <summary>Number of sorted values strictly below <paramref name="threshold"/> (binary search).</summary>
    private static int CountBelow(double[] sorted, double threshold)
    {
        int lo = 0, hi = sorted.Length;
        while (lo < hi)
        {
            var mid = (lo + hi) >>> 1;
            if (sorted[mid] < threshold) lo = mid + 1; else hi = mid;
        }
        return lo;
    }
}
