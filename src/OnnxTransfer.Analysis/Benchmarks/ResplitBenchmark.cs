using OnnxTransfer.Data;
using OnnxTransfer.Features;

namespace OnnxTransfer.Benchmarks;

/// <summary>One seeded split of the pooled rows.</summary>
/// <param name="Seed">Seed of the stratified split.</param>
/// <param name="Train">Pooled row indices every trainer trains on, sorted.</param>
/// <param name="Test">Pooled row indices every trainer is scored on, sorted.</param>
public sealed record RowSplit(ulong Seed, int[] Train, int[] Test);

/// <summary>The benchmark on one of the splits.</summary>
/// <param name="Seed">Seed of the split.</param>
/// <param name="Result">Every trainer's figures on it.</param>
public sealed record ResplitRun(ulong Seed, TrainingBenchmarkResult Result);

/// <summary>All figures of one <see cref="ResplitBenchmark"/> run.</summary>
/// <param name="Pool">Which rows were pooled and how they were split.</param>
/// <param name="Rows">Pooled rows.</param>
/// <param name="Dimension">Feature dimension.</param>
/// <param name="Classes">Class names.</param>
/// <param name="HoldoutFraction">Held-out fraction of every class in every split.</param>
/// <param name="Splits">Every split's run, in seed order.</param>
/// <param name="Summary">The figures over all splits.</param>
public sealed record ResplitBenchmarkResult(string Pool, int Rows, int Dimension, IReadOnlyList<string> Classes, double HoldoutFraction,
    IReadOnlyList<ResplitRun> Splits, ResplitSummary Summary);

/// <summary>
/// <see cref="TrainingBenchmark"/> over several random splits: every labelled row of the table (all its splits) is pooled
/// and split N times with the one stratified split, seeds s .. s+N−1; ours and the ML.NET trainers run on each split's
/// same rows. One small held-out split cannot resolve a fraction of a point (on 153 images one image is 0.65 points);
/// the mean and the paired difference over splits can.
/// </summary>
public static class ResplitBenchmark
{
    /// <summary>Every labelled row of <paramref name="table"/>, whatever its split, with the split column cleared.</summary>
    public static FeatureTable Pool(FeatureTable table)
    {
        var pool = table.Where(i => table.Labels[i].Length > 0);
        return pool with { Splits = Enumerable.Repeat("", pool.Count).ToArray() };
    }

    /// <summary>
    /// <paramref name="count"/> stratified splits of <paramref name="pool"/> holding out <paramref name="fraction"/> of every
    /// class, seeds <paramref name="firstSeed"/> .. <paramref name="firstSeed"/> + count − 1 (keyed on the rows' item paths).
    /// </summary>
    public static IReadOnlyList<RowSplit> Splits(FeatureTable pool, double fraction, ulong firstSeed, int count)
    {
        if (count < 1) throw new OnnxTransferException($"bench: --resplits {count} must be at least 1.");
        if (fraction is <= 0 or >= 1) throw new OnnxTransferException($"hold-out fraction {fraction} must be between 0 and 1.");
        var splits = new List<RowSplit>();
        for (var k = 0; k < count; k++)
        {
            var seed = unchecked(firstSeed + (ulong)k);
            var (kept, held) = StratifiedSplit.Split(pool.Paths, pool.Labels, fraction, seed);
            if (held.Length == 0)
                throw new OnnxTransferException($"{pool.Count} labelled rows are too few for a {fraction:P0} hold-out; use a bigger table.");
            splits.Add(new RowSplit(seed, kept, held));
        }
        return splits;
    }

    /// <summary>Runs the benchmark on <paramref name="count"/> splits of <paramref name="table"/>'s pooled rows
    /// (<see cref="TrainingBenchmarkOptions.HoldoutFraction"/> held out, seeds from <see cref="TrainingBenchmarkOptions.SplitSeed"/>).</summary>
    public static async Task<ResplitBenchmarkResult> RunAsync(FeatureTable table, int count, TrainingBenchmarkOptions? options = null,
        IProgress<ProgressUpdate>? progress = null, CancellationToken ct = default)
    {
        options ??= new TrainingBenchmarkOptions();
        TrainingBenchmark.CheckRepeat(options);
        var pool = Pool(table);
        var splits = Splits(pool, options.HoldoutFraction, options.SplitSeed, count);
        var steps = new BenchmarkSteps(progress, count * TrainingBenchmark.StepsPerSplit(options) + (TrainingBenchmark.PeerWanted(options) ? 1 : 0));
        using var work = new WorkFolder(options.WorkDirectory);
        var peer = await TrainerPeer.BuildAsync(options, steps, ct).ConfigureAwait(false);
        var runs = new List<ResplitRun>();
        foreach (var split in splits)
        {
            steps.Prefix = $"split {runs.Count + 1}/{count}: ";
            var test = new bool[pool.Count];
            foreach (var i in split.Test) test[i] = true;
            var description = FormattableString.Invariant(
                $"stratified {100 * (1 - options.HoldoutFraction):0}/{100 * options.HoldoutFraction:0} split of all {pool.Count} labelled rows (seed {split.Seed})");
            var result = await TrainingBenchmark.RunSplitAsync(pool.Where(i => !test[i]), pool.Where(i => test[i]), description,
                options, peer, Path.Combine(work.Path, $"split-{split.Seed}"), steps, ct).ConfigureAwait(false);
            runs.Add(new ResplitRun(split.Seed, result));
        }
        steps.Finish();
        return new ResplitBenchmarkResult(Describe(table, pool, options.HoldoutFraction, splits), pool.Count, pool.Dimension, pool.Classes(),
            options.HoldoutFraction, runs, ResplitSummary.From(runs.Select(r => r.Result).ToList()));
    }

    private static string Describe(FeatureTable table, FeatureTable pool, double fraction, IReadOnlyList<RowSplit> splits)
    {
        var sources = table.Splits.Select((s, i) => (Split: s.Length == 0 ? "no split" : s, Labelled: table.Labels[i].Length > 0))
            .Where(r => r.Labelled).GroupBy(r => r.Split, StringComparer.OrdinalIgnoreCase).Select(g => $"{g.Key} {g.Count()}");
        return FormattableString.Invariant(
            $"all {pool.Count} labelled rows pooled ({string.Join(", ", sources)}); {splits.Count} stratified {100 * (1 - fraction):0}/{100 * fraction:0} splits, seeds {splits[0].Seed}..{splits[^1].Seed}");
    }
}
