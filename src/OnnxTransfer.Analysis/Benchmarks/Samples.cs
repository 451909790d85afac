namespace OnnxTransfer.Benchmarks;

/// <summary>Repeated measurements of one quantity (repeats smooth out a noisy, shared machine).</summary>
/// <param name="Values">One value per repeat, in run order.</param>
public sealed record Samples(IReadOnlyList<double> Values)
{
    /// <summary>The median (mean of the middle two for an even count); NaN when empty.</summary>
    public double Median
    {
        get
        {
            if (Values.Count == 0) return double.NaN;
            var sorted = Values.Order().ToArray();
            var mid = sorted.Length / 2;
            return sorted.Length % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
        }
    }

    /// <summary>The largest value (the best throughput); NaN when empty.</summary>
    public double Max => Values.Count == 0 ? double.NaN : Values.Max();

    /// <summary>The smallest value (the best time); NaN when empty.</summary>
    public double Min => Values.Count == 0 ? double.NaN : Values.Min();
}
