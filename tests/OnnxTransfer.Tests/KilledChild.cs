using System.Diagnostics;

namespace OnnxTransfer.Tests;

/// <summary>Runs a <see cref="TestProgram"/> child mode and SIGKILLs it right after it prints a given line: a crash mid-run, for resume tests.</summary>
public static class KilledChild
{
    /// <summary>Starts the test assembly with <paramref name="args"/>, kills it after the line <paramref name="killAfter"/>, and returns its exit code (137 = SIGKILL).</summary>
    public static async Task<int> RunAsync(string killAfter, params string[] args)
    {
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        psi.ArgumentList.Add(typeof(TestProgram).Assembly.Location);
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var child = Process.Start(psi)!;
        try
        {
            using var guard = new CancellationTokenSource(TimeSpan.FromSeconds(120));
            string? line;
            while ((line = await child.StandardOutput.ReadLineAsync(guard.Token)) is not null && line != killAfter) { }
            if (line is null) Assert.Fail($"child ended before '{killAfter}': " + await child.StandardError.ReadToEndAsync());
            child.Kill();  // SIGKILL
            child.WaitForExit();
        }
        finally { if (!child.HasExited) child.Kill(); }
        return child.ExitCode;
    }
}
