namespace OnnxTransfer.Benchmarks;

/// <summary>One trainer over the splits it ran on.</summary>
/// <param name="Name">Trainer name.</param>
/// <param name="Splits">Splits it ran on.</param>
/// <param name="MeanAccuracy">Mean held-out accuracy over those splits.</param>
/// <param name="AccuracySd">Sample standard deviation of that accuracy (NaN for one split).</param>
/// <param name="MeanBalancedAccuracy">Mean balanced accuracy (mean per-class recall).</param>
/// <param name="MedianSeconds">Median over splits of each split's median training time.</param>
public sealed record TrainerSummary(string Name, int Splits, double MeanAccuracy, double AccuracySd, double MeanBalancedAccuracy, double MedianSeconds);

/// <summary>Ours minus one peer, split by split on the same rows.</summary>
/// <param name="Peer">The peer's name.</param>
/// <param name="Splits">Splits both ran on.</param>
/// <param name="MeanPoints">Mean of ours − peer accuracy, in percentage points.</param>
/// <param name="SdPoints">Sample standard deviation of that difference (NaN for one split).</param>
/// <param name="Wins">Splits where ours is more accurate.</param>
/// <param name="Ties">Splits where both are equally accurate (the same number of held-out rows right).</param>
/// <param name="Losses">Splits where the peer is more accurate.</param>
/// <param name="Speedup">The peer's median time over ours on those splits (above 1: ours is faster).</param>
public sealed record PairedDifference(string Peer, int Splits, double MeanPoints, double SdPoints, int Wins, int Ties, int Losses, double Speedup);

/// <summary>The figures of a <see cref="ResplitBenchmark"/> over all its splits.</summary>
/// <param name="Ours">Our trainer.</param>
/// <param name="Peers">Every peer that ran on at least one split, in order of first appearance.</param>
/// <param name="Differences">Ours − each peer, in the order of <paramref name="Peers"/>.</param>
public sealed record ResplitSummary(TrainerSummary Ours, IReadOnlyList<TrainerSummary> Peers, IReadOnlyList<PairedDifference> Differences)
{
    // Accuracies are (right rows) / (held-out rows) of the same rows, so equal counts give equal doubles up to rounding.
    private const double TieTolerance = 1e-9;

    /// <summary>The most accurate peer on average (fastest among equals), or null.</summary>
    public string? BestPeer => Peers.OrderByDescending(p => p.MeanAccuracy).ThenBy(p => p.MedianSeconds).FirstOrDefault()?.Name;

    /// <summary>Ours − <see cref="BestPeer"/>, or null.</summary>
    public PairedDifference? VersusBestPeer => Differences.FirstOrDefault(d => d.Peer == BestPeer);

    /// <summary>Summarises the per-split results (each with the same trainers on the same rows).</summary>
    public static ResplitSummary From(IReadOnlyList<TrainingBenchmarkResult> splits)
    {
        if (splits.Count == 0) throw new ArgumentException("at least one split is needed.", nameof(splits));
        var names = splits.SelectMany(s => s.Peers).Select(p => p.Name).Distinct(StringComparer.Ordinal).ToList();
        var peers = names.Select(n => Summarise(n, splits.Select(s => Find(s, n)).OfType<TrainerResult>().ToList())).ToList();
        var differences = names.Select(n => Compare(n, splits.Where(s => Find(s, n) is not null)
            .Select(s => (s.Ours, Find(s, n)!)).ToList())).ToList();
        return new ResplitSummary(Summarise(splits[0].Ours.Name, splits.Select(s => s.Ours).ToList()), peers, differences);
    }

    private static TrainerResult? Find(TrainingBenchmarkResult split, string name) => split.Peers.FirstOrDefault(p => p.Name == name);

    private static TrainerSummary Summarise(string name, IReadOnlyList<TrainerResult> runs) =>
        new(name, runs.Count, runs.Average(r => r.Accuracy), Sd(runs.Select(r => r.Accuracy).ToList()),
            runs.Average(r => r.BalancedAccuracy), MedianSeconds(runs));

    private static PairedDifference Compare(string peer, IReadOnlyList<(TrainerResult Ours, TrainerResult Peer)> pairs)
    {
        var points = pairs.Select(p => 100 * (p.Ours.Accuracy - p.Peer.Accuracy)).ToList();
        var gaps = pairs.Select(p => p.Ours.Accuracy - p.Peer.Accuracy).ToList();
        return new PairedDifference(peer, pairs.Count, points.Average(), Sd(points),
            gaps.Count(g => g > TieTolerance), gaps.Count(g => Math.Abs(g) <= TieTolerance), gaps.Count(g => g < -TieTolerance),
            MedianSeconds(pairs.Select(p => p.Peer).ToList()) / MedianSeconds(pairs.Select(p => p.Ours).ToList()));
    }

    private static double MedianSeconds(IEnumerable<TrainerResult> runs) => new Samples(runs.Select(r => r.Seconds.Median).ToList()).Median;

    /// <summary>Sample standard deviation (n − 1); NaN below two values.</summary>
    private static double Sd(IReadOnlyList<double> values)
    {
        if (values.Count < 2) return double.NaN;
        var mean = values.Average();
        return Math.Sqrt(values.Sum(v => (v - mean) * (v - mean)) / (values.Count - 1));
    }
}
