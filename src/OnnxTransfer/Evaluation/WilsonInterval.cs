namespace OnnxTransfer.Evaluation;

/// <summary>
/// The Wilson score interval of a proportion: where the true rate lies given <c>k</c> events in <c>n</c> trials.
/// Unlike the normal approximation it stays inside [0, 1] and is honest at 0 of n, which is what small wake-word
/// and hold-out sets give (0 misses of 10 real clips still allows a miss rate near 28 %).
/// </summary>
internal static class WilsonInterval
{
    /// <summary>z for a two-sided 95 % interval.</summary>
    public const double Z95 = 1.959963984540054;

    /// <summary>The interval for <paramref name="events"/> of <paramref name="trials"/>; (0, 1) when there are no trials.</summary>
    public static (double Low, double High) Of(int events, int trials, double z = Z95)
    {
        if (events < 0 || events > trials) throw new ArgumentOutOfRangeException(nameof(events), $"{events} events of {trials} trials");
        if (trials == 0) return (0, 1);
        double n = trials, p = events / n, z2 = z * z;
        var centre = (p + z2 / (2 * n)) / (1 + z2 / n);
        var half = z / (1 + z2 / n) * Math.Sqrt(p * (1 - p) / n + z2 / (4 * n * n));
        // Exact ends at 0 and n (the formula lands there up to rounding).
        return (events == 0 ? 0 : Math.Max(0, centre - half), events == trials ? 1 : Math.Min(1, centre + half));
    }
}
