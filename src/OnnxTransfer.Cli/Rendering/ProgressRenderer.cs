using Spectre.Console;

namespace OnnxTransfer.Cli.Rendering;

/// <summary>
/// Shows <see cref="ProgressUpdate"/>s: a live Spectre.Console bar (rate and ETA) on a terminal, plain
/// lines at most every few seconds otherwise (logs, CI, batch schedulers). Writes to stderr so stdout
/// stays clean for --json output.
/// </summary>
internal static class ProgressRenderer
{
    private static readonly TimeSpan PlainInterval = TimeSpan.FromSeconds(5);
    private const string BytesKey = "unit-is-bytes";

    /// <summary>"12.3 MB" style text for byte counts.</summary>
    internal static string FormatBytes(double bytes) =>
        bytes >= 1e9 ? $"{bytes / 1e9:F2} GB" : bytes >= 1e6 ? $"{bytes / 1e6:F1} MB" : bytes >= 1e3 ? $"{bytes / 1e3:F0} kB" : $"{bytes:F0} B";

    /// <summary>Runs <paramref name="work"/>, rendering the progress it reports (nothing with --quiet).</summary>
    public static async Task<T> RunAsync<T>(string title, Func<IProgress<ProgressUpdate>, Task<T>> work)
    {
        if (CliConsole.Verbosity == Verbosity.Quiet) return await work(new Progress<ProgressUpdate>());
        var console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(Console.Error) });
        if (!console.Profile.Capabilities.Interactive || Console.IsErrorRedirected || !CliConsole.IsProcessError)
            return await work(new PlainProgress(title, CliConsole.Error));
        T result = default!;
        await console.Progress()
            .AutoClear(false)
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(),
                new TransferSpeedColumnOrRate(), new RemainingTimeColumn(), new SpinnerColumn())
            .StartAsync(async ctx =>
            {
                var tasks = new Dictionary<string, ProgressTask>();
                var progress = new SynchronousProgress(u =>
                {
                    if (!tasks.TryGetValue(u.Stage, out var task))
                    {
                        tasks[u.Stage] = task = ctx.AddTask(u.Stage, maxValue: u.Total ?? 1);
                        task.State.Update<bool>(BytesKey, _ => u.Unit == "bytes");
                    }
                    if (u.Total is { } total) { task.MaxValue = Math.Max(total, 1); task.IsIndeterminate = false; }
                    else task.IsIndeterminate = true;
                    task.Value = u.Done;
                    task.Description = u.Message is null ? u.Stage : $"{u.Stage} [grey]{Markup.Escape(u.Message)}[/]";
                });
                result = await work(progress);
                foreach (var t in tasks.Values) if (t.MaxValue > 0) t.Value = t.MaxValue;
            });
        return result;
    }

    private sealed class SynchronousProgress(Action<ProgressUpdate> report) : IProgress<ProgressUpdate>
    {
        private readonly object _gate = new();
        public void Report(ProgressUpdate value) { lock (_gate) report(value); }
    }

    private sealed class PlainProgress(string title, TextWriter error) : IProgress<ProgressUpdate>
    {
        private readonly object _gate = new();
        private readonly System.Diagnostics.Stopwatch _clock = System.Diagnostics.Stopwatch.StartNew();
        private TimeSpan _last = -PlainInterval;

        public void Report(ProgressUpdate u)
        {
            lock (_gate)
            {
                var finished = u.Total is { } t && u.Done >= t;
                if (!finished && _clock.Elapsed - _last < PlainInterval) return;
                _last = _clock.Elapsed;
                var rate = u.Done / Math.Max(_clock.Elapsed.TotalSeconds, 1e-3);
                if (u.Unit == "bytes")
                {
                    var of = u.Total is { } tb ? $" of {FormatBytes(tb)}" : "";
                    error.WriteLine($"{title}: {u.Stage} {FormatBytes(u.Done)}{of} ({FormatBytes(rate)}/s){(u.Message is null ? "" : $" — {u.Message}")}");
                    return;
                }
                var total = u.Total is { } tt ? $"/{tt}" : "";
                var eta = u.Total is { } t2 && rate > 0 && !finished ? $", eta {TimeSpan.FromSeconds((t2 - u.Done) / rate):hh\\:mm\\:ss}" : "";
                var msg = u.Message is null ? "" : $" — {u.Message}";
                error.WriteLine($"{title}: {u.Stage} {u.Done}{total} {u.Unit} ({rate:F1}/s{eta}){msg}");
            }
        }
    }

    /// <summary>Items per second (Spectre's transfer column shows bytes; ours shows plain rates).</summary>
    private sealed class TransferSpeedColumnOrRate : ProgressColumn
    {
        public override Spectre.Console.Rendering.IRenderable Render(Spectre.Console.Rendering.RenderOptions options, ProgressTask task, TimeSpan deltaTime) =>
            new Text(task.Speed is not { } s ? "" : task.State.Get<bool>(BytesKey) ? $"{FormatBytes(s)}/s" : $"{s:F1}/s", new Style(Color.Grey));
    }
}
