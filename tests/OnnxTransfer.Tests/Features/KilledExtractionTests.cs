using System.Diagnostics;
using OnnxTransfer.Data;
using OnnxTransfer.Features;

namespace OnnxTransfer.Tests.Features;

/// <summary>A real child process is SIGKILLed mid-extraction; the next run resumes to the same file as an uninterrupted run.</summary>
public class KilledExtractionTests
{
    public const string ChildMode = "extract-until-blocked";
    private static readonly FeatureExtractionOptions ChildOptions = new() { BatchSize = 4, Threads = 1, CheckpointRows = 8 };

    [Fact]
    public async Task Sigkilled_extraction_resumes_to_the_same_file_as_an_uninterrupted_run()
    {
        using var dir = new TempDir();
        var items = FeatureTestKit.Dataset(dir.File("data"), 40);
        var listing = dir.File("listing.tsv");
        File.WriteAllLines(listing, items.Select(i => string.Join('\t', i.Path, i.Id, i.Label, i.Split)));
        var output = dir.File("killed.parquet");
        const int blockAfter = 21;

        var dotnet = Environment.ProcessPath is { } p && Path.GetFileNameWithoutExtension(p) == "dotnet" ? p : "dotnet";
        var start = new ProcessStartInfo(dotnet) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { typeof(TestProgram).Assembly.Location, ChildMode, listing, output, blockAfter.ToString() }) start.ArgumentList.Add(a);
        using var child = Process.Start(start)!;
        try
        {
            // The child reports progress after each checkpointed batch; 20 rows done means chunks of 8+8 rows are on
            // disk, 4 rows are only in memory, and the encoder is blocked on item 21.
            // A guard against a stuck child (it must never trigger): fail instead of hanging the suite.
            using var guard = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            var seen = new List<string>();
            string? line;
            while ((line = await child.StandardOutput.ReadLineAsync(guard.Token)) is not null && line != "done 20") seen.Add(line);
            if (line is null) Assert.Fail($"child ended early after [{string.Join(", ", seen)}]: {await child.StandardError.ReadToEndAsync()}");
            child.Kill();  // SIGKILL on Unix
            await child.WaitForExitAsync();
        }
        finally
        {
            if (!child.HasExited) child.Kill();
        }
        Assert.Equal(137, child.ExitCode);  // 128 + SIGKILL
        Assert.False(File.Exists(output));
        var partial = FeatureStore.PartialPath(output);
        Assert.Equal(2, Directory.GetFiles(partial, "chunk-*.parquet").Length);

        using var session = FeatureTestKit.Session();
        var encoder = new NumberEncoder();
        var summary = await new FeatureExtractor(session, encoder, FeatureTestKit.Description()).RunAsync(items, output, ChildOptions);
        Assert.Equal((16, 24, 24), (summary.Skipped, summary.Written, encoder.Encoded));

        await new FeatureExtractor(session, new NumberEncoder(), FeatureTestKit.Description())
            .RunAsync(items, dir.File("full.parquet"), new FeatureExtractionOptions { BatchSize = 16 });
        Assert.Equal(FeatureTestKit.Bytes(dir.File("full.parquet")), FeatureTestKit.Bytes(output));
    }

    /// <summary>Child side: extracts the listing, printing "done N" after each batch, and blocks for ever on item number blockAfter.</summary>
    public static int Child(string[] args)
    {
        var items = File.ReadAllLines(args[0]).Select(l => l.Split('\t')).Select(f => new DatasetItem(f[0], f[1], f[2], f[3])).ToArray();
        var blockAfter = int.Parse(args[2]);
        var encoded = 0;
        var encoder = new NumberEncoder(_ =>
        {
            if (Interlocked.Increment(ref encoded) >= blockAfter) Thread.Sleep(Timeout.Infinite);
        });
        using var session = FeatureTestKit.Session();
        var progress = new LineProgress();
        new FeatureExtractor(session, encoder, FeatureTestKit.Description()).RunAsync(items, args[1], ChildOptions, progress).GetAwaiter().GetResult();
        return 0;
    }

    private sealed class LineProgress : IProgress<ProgressUpdate>
    {
        public void Report(ProgressUpdate value)
        {
            if (value.Stage != "extract") return;
            Console.Out.WriteLine($"done {value.Done}");
            Console.Out.Flush();
        }
    }
}
