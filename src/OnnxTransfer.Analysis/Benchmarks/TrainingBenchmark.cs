using System.Diagnostics;
using OnnxTransfer.Data;
using OnnxTransfer.Evaluation;
using OnnxTransfer.Features;
using OnnxTransfer.Training.Heads;

namespace OnnxTransfer.Benchmarks;

/// <summary>Settings of a <see cref="TrainingBenchmark"/>.</summary>
public sealed record TrainingBenchmarkOptions
{
    /// <summary>Our trainer's options (defaults: linear head, AdamW, early stopping on a 10 % hold-out of the train rows).</summary>
    public TrainingOptions Training { get; init; } = new();

    /// <summary>How often every trainer runs; times are medians (accuracies do not change: every trainer is seeded).</summary>
    public int Repeat { get; init; } = 3;

    /// <summary>Test fraction when the table has no val/test split.</summary>
    public double HoldoutFraction { get; init; } = 0.2;

    /// <summary>Seed of that stratified split.</summary>
    public ulong SplitSeed { get; init; } = 0;

    /// <summary>The repository's bench folder holding MlNetTrainerPeer; null: the ML.NET trainers are skipped.</summary>
    public string? BenchFolder { get; init; }

    /// <summary>ML.NET trainers to run (MlNetTrainerPeer's --trainers).</summary>
    public IReadOnlyList<string> PeerTrainers { get; init; } = ["lbfgs", "sdca"];

    /// <summary>Folder for heads and CSVs; null: a new temp folder, deleted afterwards.</summary>
    public string? WorkDirectory { get; init; }
}

/// <summary>Time and held-out accuracy of one trainer.</summary>
/// <param name="Name">Trainer name.</param>
/// <param name="Seconds">Wall time of training, per repeat.</param>
/// <param name="Accuracy">Accuracy on the held-out rows (of the last repeat).</param>
/// <param name="Accuracies">Accuracy per repeat (equal when the trainer is deterministic).</param>
/// <param name="Detail">What was timed.</param>
/// <param name="BalancedAccuracy">Mean per-class recall on the held-out rows (ML.NET's macro accuracy), of the last repeat.</param>
public sealed record TrainerResult(string Name, Samples Seconds, double Accuracy, IReadOnlyList<double> Accuracies, string Detail, double BalancedAccuracy);

/// <summary>All figures of one <see cref="TrainingBenchmark"/> run.</summary>
/// <param name="Split">How train and held-out rows were chosen.</param>
/// <param name="TrainRows">Rows every trainer trains on.</param>
/// <param name="TestRows">Held-out rows every trainer is scored on.</param>
/// <param name="Dimension">Feature dimension.</param>
/// <param name="Classes">Class names.</param>
/// <param name="Ours">Our trainer.</param>
/// <param name="Peers">The ML.NET trainers that ran.</param>
/// <param name="PeerError">Why peers are missing, or null.</param>
public sealed record TrainingBenchmarkResult(string Split, int TrainRows, int TestRows, int Dimension, IReadOnlyList<string> Classes,
    TrainerResult Ours, IReadOnlyList<TrainerResult> Peers, string? PeerError)
{
    /// <summary>The most accurate peer (fastest among equals), or null.</summary>
    public TrainerResult? BestPeer => Peers.OrderByDescending(p => p.Accuracy).ThenBy(p => p.Seconds.Median).FirstOrDefault();

    /// <summary>Our accuracy minus the best peer's, in percentage points.</summary>
    public double? AccuracyGapPoints => BestPeer is { } p ? 100 * (Ours.Accuracy - p.Accuracy) : null;
}

/// <summary>
/// Trains heads on the same rows with our <see cref="Trainer"/> and with ML.NET's LbfgsMaximumEntropy and
/// SdcaMaximumEntropy (bench/MlNetTrainerPeer, a child process reading <see cref="InterchangeCsv"/> files), and
/// scores all on the same held-out rows: a table's val/test split, else a seeded stratified hold-out.
/// </summary>
public static class TrainingBenchmark
{
    /// <summary>Train rows and held-out rows of <paramref name="table"/>, and a description of the split.</summary>
    public static (FeatureTable Train, FeatureTable Test, string Description) Holdout(FeatureTable table, double fraction, ulong seed)
    {
        var splits = FeatureSplits.From(table);
        if (splits.Holdout is { } holdout)
            return (splits.Train, holdout, $"train split → {(splits.Test is not null ? "test" : "val")} split");
        if (fraction is <= 0 or >= 1)
            throw new OnnxTransferException($"hold-out fraction {fraction} must be between 0 and 1.");
        var (_, test) = StratifiedSplit.Split(splits.Train.Paths, splits.Train.Labels, fraction, seed);
        var held = test.ToHashSet();
        if (held.Count == 0)
            throw new OnnxTransferException($"{table.Count} rows are too few for a {fraction:P0} hold-out; use a bigger table.");
        return (splits.Train.Where(i => !held.Contains(i)), splits.Train.Where(held.Contains),
            FormattableString.Invariant($"stratified {100 * (1 - fraction):0}/{100 * fraction:0} split of the train rows (seed {seed})"));
    }

    /// <summary>Runs the benchmark on <paramref name="table"/>.</summary>
    public static async Task<TrainingBenchmarkResult> RunAsync(FeatureTable table, TrainingBenchmarkOptions? options = null,
        IProgress<ProgressUpdate>? progress = null, CancellationToken ct = default)
    {
        options ??= new TrainingBenchmarkOptions();
        CheckRepeat(options);
        var (train, test, description) = Holdout(table, options.HoldoutFraction, options.SplitSeed);
        var steps = new BenchmarkSteps(progress, StepsPerSplit(options) + (PeerWanted(options) ? 1 : 0));
        using var work = new WorkFolder(options.WorkDirectory);
        var peer = await TrainerPeer.BuildAsync(options, steps, ct).ConfigureAwait(false);
        var result = await RunSplitAsync(train, test, description, options, peer, work.Path, steps, ct).ConfigureAwait(false);
        steps.Finish();
        return result;
    }

    /// <summary>Refuses a repeat count below one.</summary>
    internal static void CheckRepeat(TrainingBenchmarkOptions options)
    {
        if (options.Repeat < 1) throw new OnnxTransferException($"bench: repeat {options.Repeat} must be at least 1.");
    }

    /// <summary>Whether the options ask for the ML.NET trainers.</summary>
    internal static bool PeerWanted(TrainingBenchmarkOptions options) => options.BenchFolder is not null && options.PeerTrainers.Count > 0;

    /// <summary>Progress steps of one <see cref="RunSplitAsync"/>: ours per repeat, and the CSVs and ML.NET per repeat.</summary>
    internal static int StepsPerSplit(TrainingBenchmarkOptions options) => options.Repeat + (PeerWanted(options) ? options.Repeat + 1 : 0);

    /// <summary>
    /// One split's run: ours and the built <paramref name="peer"/> (whose build error, if any, becomes the result's
    /// peer error) train on <paramref name="train"/> and are scored on <paramref name="test"/>; heads and CSVs go under <paramref name="work"/>.
    /// </summary>
    internal static async Task<TrainingBenchmarkResult> RunSplitAsync(FeatureTable train, FeatureTable test, string description,
        TrainingBenchmarkOptions options, TrainerPeer.Build peer, string work, BenchmarkSteps steps, CancellationToken ct)
    {
        Directory.CreateDirectory(work);
        var (ours, chosen) = await RunOursAsync(train, test, options, work, steps, ct).ConfigureAwait(false);
        var (peers, peerError) = peer.Program is null ? ([], peer.Error)
            : await TrainerPeer.RunAsync(peer, train, test, options, work, steps, ct).ConfigureAwait(false);
        return new TrainingBenchmarkResult(description + chosen, train.Count, test.Count, train.Dimension, train.Classes(), ours, peers, peerError);
    }

    // Ours: Trainer.Fit on the train rows only (it holds out its own validation fraction for early stopping).
    private static async Task<(TrainerResult Result, string Chosen)> RunOursAsync(FeatureTable train, FeatureTable test,
        TrainingBenchmarkOptions options, string work, BenchmarkSteps steps, CancellationToken ct)
    {
        var seconds = new List<double>();
        var accuracies = new List<double>();
        var balanced = 0.0;
        var chosen = "";
        for (var r = 0; r < options.Repeat; r++)
        {
            steps.Next($"ours {r + 1}/{options.Repeat}");
            var head = Path.Combine(work, $"head-{r}");
            GC.Collect();
            var clock = Stopwatch.StartNew();
            var trained = await Task.Run(() => Trainer.Fit(train, null, options.Training, head, null, ct), ct).ConfigureAwait(false);
            seconds.Add(clock.Elapsed.TotalSeconds);
            using var model = HeadModel.Load(head);
            var metrics = HeadEvaluation.Evaluate(model, test);
            accuracies.Add(metrics.Accuracy);
            balanced = metrics.BalancedAccuracy;
            var m = trained.Info.Metrics;
            if (r == 0) chosen = m.L2 is { } l2
                ? FormattableString.Invariant($"; ours: L2 {l2:0.###e0} chosen ({m.BestEpoch} of {m.EpochsRun} tried), {m.SolverIterations} L-BFGS iterations")
                : $"; ours: best epoch {m.BestEpoch}/{m.EpochsRun}";
        }
        var o = options.Training;
        var detail = FormattableString.Invariant($"{o.Spec} head, {o.Optimizer.ResolveFor(o.Spec.IsLinear).Kind}, lr {o.LearningRate}, batch {o.BatchSize}, ≤{o.Epochs} epochs, patience {o.Patience}, {o.Threads} thread(s); Fit incl. graph build + files");
        return (new TrainerResult("OnnxTransfer Trainer", new Samples(seconds), accuracies[^1], accuracies, detail, balanced), chosen);
    }
}
