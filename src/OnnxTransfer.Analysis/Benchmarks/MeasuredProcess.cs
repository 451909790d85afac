using System.Diagnostics;
using System.Globalization;
using System.Text;

namespace OnnxTransfer.Benchmarks;

/// <summary>A program to start as a child process: the executable and the arguments that come before the benchmark's own.</summary>
/// <param name="FileName">The executable (e.g. <c>dotnet</c>).</param>
/// <param name="Prefix">Arguments before the command's own (e.g. the CLI's .dll).</param>
public sealed record ProcessCommand(string FileName, IReadOnlyList<string> Prefix)
{
    /// <summary>The command that started this process (<c>dotnet x.dll</c> or the app host), for running it again as a child.</summary>
    public static ProcessCommand Self()
    {
        var host = Environment.ProcessPath ?? "dotnet";
        var isDotnet = Path.GetFileNameWithoutExtension(host).Equals("dotnet", StringComparison.OrdinalIgnoreCase);
        var entry = Environment.GetCommandLineArgs()[0];
        return isDotnet ? new ProcessCommand(host, [entry]) : new ProcessCommand(host, []);
    }
}

/// <summary>What a child process run took: wall time, exit code, peak resident memory and its error output.</summary>
/// <param name="ExitCode">Exit status.</param>
/// <param name="Seconds">Wall time from start to exit.</param>
/// <param name="PeakResidentBytes">Highest resident set (Linux VmHWM, read while it runs), or null where it cannot be read.</param>
/// <param name="Stderr">Its standard error.</param>
public sealed record MeasuredRun(int ExitCode, double Seconds, long? PeakResidentBytes, string Stderr);

/// <summary>Runs a child process to the end, timing it and following its peak resident memory.</summary>
public static class MeasuredProcess
{
    /// <summary>Runs <paramref name="command"/> with <paramref name="arguments"/>; cancellation kills it.</summary>
    public static async Task<MeasuredRun> RunAsync(ProcessCommand command, IEnumerable<string> arguments, CancellationToken ct = default)
    {
        var info = new ProcessStartInfo(command.FileName)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            StandardErrorEncoding = Encoding.UTF8,
        };
        foreach (var a in command.Prefix.Concat(arguments)) info.ArgumentList.Add(a);
        info.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        using var process = new Process { StartInfo = info };
        var clock = Stopwatch.StartNew();
        try { process.Start(); }
        catch (System.ComponentModel.Win32Exception e) { throw new PeerException($"could not start {command.FileName} ({e.Message})."); }
        var stdout = process.StandardOutput.ReadToEndAsync(CancellationToken.None);
        var stderr = process.StandardError.ReadToEndAsync(CancellationToken.None);
        long? peak = null;
        var status = $"/proc/{process.Id}/status";
        try
        {
            // VmHWM only grows, so the last reading before exit is the peak (up to the last poll interval).
            while (!process.HasExited)
            {
                if (HighWaterMark(status) is { } hwm) peak = Math.Max(peak ?? 0, hwm);
                await Task.WhenAny(process.WaitForExitAsync(ct), Task.Delay(20, ct)).ConfigureAwait(false);
                ct.ThrowIfCancellationRequested();
            }
            await process.WaitForExitAsync(ct).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            try { process.Kill(entireProcessTree: true); } catch (InvalidOperationException) { }
            throw;
        }
        var seconds = clock.Elapsed.TotalSeconds;
        await stdout.ConfigureAwait(false);
        return new MeasuredRun(process.ExitCode, seconds, peak, await stderr.ConfigureAwait(false));
    }

    private static long? HighWaterMark(string statusFile)
    {
        try
        {
            foreach (var line in File.ReadLines(statusFile))
                if (line.StartsWith("VmHWM:", StringComparison.Ordinal))
                    return long.Parse(line.AsSpan(6).Trim().ToString().Split(' ')[0], CultureInfo.InvariantCulture) * 1024;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException) { }
        return null;
    }
}
