using System.Diagnostics;

namespace OnnxTransfer.Tests.Cli;

/// <summary>
/// Runs <c>onnxtransfer</c> as a real child process (the test assembly's "cli" mode), so the test sees exactly what the
/// process printed on stdout and stderr, including anything written to the console directly. Backbones come from the
/// shared mirror, offline.
/// </summary>
public static class CliProcess
{
    public sealed record Outcome(int Code, string Out, string Err)
    {
        public override string ToString() => $"exit {Code}\n--- stdout\n{Out}\n--- stderr\n{Err}";
    }

    /// <summary>How to start <c>onnxtransfer ARGS</c> with its output redirected, <paramref name="cache"/> as its home.</summary>
    public static ProcessStartInfo StartInfo(string cache, IEnumerable<string> args)
    {
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        psi.ArgumentList.Add(typeof(TestProgram).Assembly.Location);
        psi.ArgumentList.Add("cli");
        foreach (var a in args) psi.ArgumentList.Add(a);
        psi.Environment["ONNXTRANSFER_MIRROR"] = SharedAssets.Models;
        psi.Environment["ONNXTRANSFER_HOME"] = cache;
        psi.Environment["ONNXTRANSFER_OFFLINE"] = "1";
        return psi;
    }

    public static Outcome Run(string cache, params string[] args)
    {
        using var p = Process.Start(StartInfo(cache, args))!;
        var stderr = p.StandardError.ReadToEndAsync();
        var stdout = p.StandardOutput.ReadToEndAsync();
        if (!p.WaitForExit(TimeSpan.FromMinutes(3)))
        {
            p.Kill(entireProcessTree: true);
            Assert.Fail($"onnxtransfer {string.Join(' ', args)} did not finish in 3 minutes");
        }
        return new Outcome(p.ExitCode, stdout.Result, stderr.Result);
    }
}
