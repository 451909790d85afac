using System.Globalization;

namespace OnnxTransfer.Comparison;

/// <summary>
/// The rule that picks a backbone from probe scores: the best mean balanced accuracy, except that candidates within one
/// standard deviation (the best's, over its folds) of it are treated as tied and the fastest of them (lowest latency per
/// image) wins: a difference smaller than the fold-to-fold noise is not worth a slower model.
/// </summary>
internal static class BackboneChoice
{
    /// <summary>The winner and one line saying why.</summary>
    /// <exception cref="OnnxTransferException">No scores.</exception>
    public static (BackboneScore Winner, string Reason) Choose(IReadOnlyList<BackboneScore> scores)
    {
        if (scores.Count == 0) throw new OnnxTransferException("compare: no backbone scores to choose from.");
        var best = scores.MaxBy(s => s.BalancedAccuracy)!;
        if (scores.Count == 1) return (best, Text($"{best.Backbone}: the only backbone compared (balanced accuracy {Pct(best.BalancedAccuracy)})"));
        var tied = scores.Where(s => s.BalancedAccuracy >= best.BalancedAccuracy - best.BalancedAccuracySd).ToArray();
        var winner = tied.OrderBy(s => s.LatencyMs).ThenByDescending(s => s.BalancedAccuracy).First();
        if (winner != best)
            return (winner, Text($"{winner.Backbone}: balanced accuracy {Pct(winner.BalancedAccuracy)} is within 1 sd ({Pct(best.BalancedAccuracySd)}) of the best ({best.Backbone}, {Pct(best.BalancedAccuracy)}) and it is faster ({winner.LatencyMs:F1} vs {best.LatencyMs:F1} ms/image)"));
        if (tied.Length > 1)
            return (winner, Text($"{winner.Backbone}: best balanced accuracy ({Pct(best.BalancedAccuracy)} ± {Pct(best.BalancedAccuracySd)}) and the fastest of the {tied.Length} within 1 sd of it ({winner.LatencyMs:F1} ms/image)"));
        var second = scores.Where(s => s != best).MaxBy(s => s.BalancedAccuracy)!;
        return (winner, Text($"{winner.Backbone}: best balanced accuracy ({Pct(best.BalancedAccuracy)} ± {Pct(best.BalancedAccuracySd)}); the next, {second.Backbone} ({Pct(second.BalancedAccuracy)}), is more than 1 sd below"));
    }

    private static string Pct(double x) => (100 * x).ToString("F1", CultureInfo.InvariantCulture) + "%";

    private static string Text(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);
}
