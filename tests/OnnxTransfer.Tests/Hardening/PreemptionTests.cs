using OnnxTransfer.Cli;
using OnnxTransfer.Data;
using OnnxTransfer.Features;
using OnnxTransfer.Tests.Features;

namespace OnnxTransfer.Tests.Hardening;

/// <summary>
/// Cluster signals during extraction: SIGTERM (preemption, <c>docker stop</c>) and SIGINT keep the rows extracted so
/// far and exit 143 / 130; SIGKILL loses at most the rows since the last time-based checkpoint; every resumed run
/// ends with the same bytes as an uninterrupted one.
/// </summary>
public class PreemptionTests
{
    public const string ChildMode = "extract-until-signalled";
    private const int Items = 40;

    public static TheoryData<string, PosixSignalNumber, int, int, int> Signals => new()
    {
        // name, signal, kill after this many items, expected exit code, checkpoint interval (ms; 0 = never by time)
        { "SIGTERM mid-run keeps every extracted row", PosixSignalNumber.Term, 12, 143, 0 },
        { "SIGINT mid-run keeps every extracted row", PosixSignalNumber.Int, 12, 130, 0 },
        { "SIGTERM on the first batch", PosixSignalNumber.Term, 4, 143, 0 },
        { "SIGTERM after time-based checkpoints", PosixSignalNumber.Term, 24, 143, 150 },
        { "SIGKILL after time-based checkpoints", PosixSignalNumber.Kill, 24, 137, 150 },
    };

    [Theory]
    [MemberData(nameof(Signals))]
    public async Task A_signalled_extraction_resumes_to_the_bytes_of_an_uninterrupted_run(string name, PosixSignalNumber signal, int after, int exitCode, int intervalMs)
    {
        _ = name;
        using var dir = new TempDir();
        var items = FeatureTestKit.Dataset(dir.File("data"), Items);
        var listing = dir.File("listing.tsv");
        File.WriteAllLines(listing, items.Select(i => string.Join('\t', i.Path, i.Id, i.Label, i.Split)));
        var output = dir.File("out.parquet");

        string error;
        using (var child = ChildProcess.Start(ChildMode, listing, output, intervalMs.ToString()))
        {
            await child.WaitForLineAsync($"done {after}");
            child.Signal(signal);
            Assert.Equal(exitCode, await child.WaitAsync());
            error = await child.Error;
        }
        Assert.False(File.Exists(output));
        var partial = FeatureStore.PartialPath(output);
        var kept = 0;
        foreach (var chunk in Directory.GetFiles(partial, "chunk-*.parquet")) kept += (await FeatureStore.ReadAsync(chunk)).Count;
        if (signal == PosixSignalNumber.Kill) Assert.InRange(kept, 1, Items - 1);  // time-based chunks survived
        else
        {
            Assert.InRange(kept, after, Items - 1);                                 // nothing extracted was lost
            // The log of a preempted job says what survived, with the count actually on disk.
            Assert.Contains($"stopped: {kept} of {Items} items are kept ({kept} extracted in this run) in {partial};", error);
        }

        using var session = FeatureTestKit.Session();
        var summary = await new FeatureExtractor(session, new NumberEncoder(), FeatureTestKit.Description()).RunAsync(items, output, Options(0));
        Assert.Equal(kept, summary.Skipped);
        await new FeatureExtractor(session, new NumberEncoder(), FeatureTestKit.Description())
            .RunAsync(items, dir.File("full.parquet"), new FeatureExtractionOptions { BatchSize = 16 });
        Assert.Equal(File.ReadAllBytes(dir.File("full.parquet")), File.ReadAllBytes(output));
    }

    [Fact]
    public async Task Checkpoints_come_by_time_when_rows_come_slowly()
    {
        using var dir = new TempDir();
        var items = FeatureTestKit.Dataset(dir.File("data"), 12);
        var output = dir.File("out.parquet");
        using var session = FeatureTestKit.Session();
        using var cts = new CancellationTokenSource();
        var chunks = new List<int>();
        var progress = new InlineProgress(u =>
        {
            if (u.Done == 8) cts.Cancel();
        });
        var options = Options(1) with { CheckpointInterval = TimeSpan.Zero };
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() =>
            new FeatureExtractor(session, new NumberEncoder(), FeatureTestKit.Description()).RunAsync(items, output, options, progress, cts.Token));
        // Every 4-item batch became its own chunk although 1,000 rows per checkpoint were asked for.
        Assert.True(Directory.GetFiles(FeatureStore.PartialPath(output), "chunk-*.parquet").Length >= 2);
    }

    private static FeatureExtractionOptions Options(int intervalMs) => new()
    {
        BatchSize = 4, Threads = 1, CheckpointRows = 1000,
        CheckpointInterval = intervalMs > 0 ? TimeSpan.FromMilliseconds(intervalMs) : TimeSpan.MaxValue,
    };

    /// <summary>Child side: extracts slowly (40 ms an item) under <see cref="StopSignals"/>, printing "done N"; exits like the CLI.</summary>
    public static int Child(string[] args)
    {
        var items = File.ReadAllLines(args[0]).Select(l => l.Split('\t')).Select(f => new DatasetItem(f[0], f[1], f[2], f[3])).ToArray();
        using var signals = new StopSignals();
        using var session = FeatureTestKit.Session();
        // The last items are slow, so however late a loaded machine delivers the signal, the run cannot finish first.
        var encoder = new NumberEncoder(item => Thread.Sleep(int.Parse(item.Id[^8..^4]) >= Items - 4 ? 4000 : 40));
        var progress = new InlineProgress(u =>
        {
            if (u.Stage != "extract") return;
            Console.Out.WriteLine($"done {u.Done}");
            Console.Out.Flush();
        });
        try
        {
            new FeatureExtractor(session, encoder, FeatureTestKit.Description())
                .RunAsync(items, args[1], Options(int.Parse(args[2])), progress, signals.Token).GetAwaiter().GetResult();
            return 0;
        }
        catch (OperationCanceledException e)
        {
            Console.Error.WriteLine(e.Message);
            return signals.ExitCode;
        }
    }

    private sealed class InlineProgress(Action<ProgressUpdate> report) : IProgress<ProgressUpdate>
    {
        public void Report(ProgressUpdate value) => report(value);
    }
}
