using OnnxTransfer.Features;

namespace OnnxTransfer.Benchmarks;

/// <summary>
/// bench/MlNetTrainerPeer as used by <see cref="TrainingBenchmark"/>: built once per benchmark, then run on the
/// <see cref="InterchangeCsv"/> files of each split.
/// </summary>
internal static class TrainerPeer
{
    /// <summary>The built peer and its assembly, or why there is none.</summary>
    /// <param name="Program">The peer project, or null.</param>
    /// <param name="Assembly">The built assembly, or null.</param>
    /// <param name="Error">Why the peer will not run, or null (also null when no trainer was asked for).</param>
    internal sealed record Build(PeerProgram? Program, string? Assembly, string? Error);

    /// <summary>Builds the peer when the options ask for it; a failure is kept as the error, not thrown.</summary>
    public static async Task<Build> BuildAsync(TrainingBenchmarkOptions options, BenchmarkSteps steps, CancellationToken ct)
    {
        if (options.BenchFolder is null) return new Build(null, null, "not run (no bench folder given)");
        if (!TrainingBenchmark.PeerWanted(options)) return new Build(null, null, null);
        try
        {
            steps.Next("build MlNetTrainerPeer");
            var peer = PeerProgram.In(options.BenchFolder, "MlNetTrainerPeer");
            return new Build(peer, await peer.BuildAsync(ct).ConfigureAwait(false), null);
        }
        catch (Exception e) when (e is PeerException or InvalidOperationException)
        {
            return new Build(null, null, e.Message);
        }
    }

    /// <summary>Every asked-for ML.NET trainer, <see cref="TrainingBenchmarkOptions.Repeat"/> times, on the same rows as ours.</summary>
    public static async Task<(IReadOnlyList<TrainerResult> Peers, string? Error)> RunAsync(Build peer, FeatureTable train, FeatureTable test,
        TrainingBenchmarkOptions options, string work, BenchmarkSteps steps, CancellationToken ct)
    {
        try
        {
            steps.Next("write CSVs");
            var trainCsv = Path.Combine(work, "train.csv");
            var testCsv = Path.Combine(work, "test.csv");
            InterchangeCsv.Write(trainCsv, train);
            InterchangeCsv.Write(testCsv, test);
            var runs = new Dictionary<string, (List<double> Seconds, List<double> Accuracy, List<double> Balanced)>(StringComparer.Ordinal);
            for (var r = 0; r < options.Repeat; r++)
            {
                steps.Next($"ML.NET {r + 1}/{options.Repeat}");
                var lines = await peer.Program!.RunAsync(peer.Assembly!, [trainCsv, testCsv, "--trainers", string.Join(',', options.PeerTrainers)], ct).ConfigureAwait(false);
                foreach (var line in lines)
                {
                    var name = line.GetProperty("trainer").GetString()!;
                    if (!runs.TryGetValue(name, out var run)) runs[name] = run = ([], [], []);
                    run.Seconds.Add(line.GetProperty("seconds").GetDouble());
                    run.Accuracy.Add(line.GetProperty("val_accuracy").GetDouble());
                    run.Balanced.Add(line.GetProperty("val_macro_accuracy").GetDouble());
                }
            }
            return (runs.Select(kv => new TrainerResult($"ML.NET {kv.Key}", new Samples(kv.Value.Seconds), kv.Value.Accuracy[^1],
                kv.Value.Accuracy, "MLContext(seed: 0), default options; Fit only (CSV parsed and cached before)", kv.Value.Balanced[^1])).ToList(), null);
        }
        catch (Exception e) when (e is PeerException or KeyNotFoundException or InvalidOperationException)
        {
            return ([], e.Message);
        }
    }
}
