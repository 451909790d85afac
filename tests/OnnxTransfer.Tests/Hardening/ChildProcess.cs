using System.Diagnostics;
using System.Runtime.InteropServices;

namespace OnnxTransfer.Tests.Hardening;

/// <summary>
/// Runs the test assembly as a child process (<see cref="TestProgram"/> modes, including the real CLI through
/// <c>cli ARGS</c>), reads its output line by line, and sends it POSIX signals: for exit codes, stderr, hangs
/// and preemption, which only a real process shows.
/// </summary>
internal sealed partial class ChildProcess : IDisposable
{
    private readonly Process _process;
    private readonly Task<string> _stderr;

    private ChildProcess(Process process)
    {
        _process = process;
        _stderr = process.StandardError.ReadToEndAsync();
    }

    public static ChildProcess Start(params string[] args)
    {
        var dotnet = Environment.ProcessPath is { } p && Path.GetFileNameWithoutExtension(p) == "dotnet" ? p : "dotnet";
        // A job started in the background by a non-interactive shell inherits SIGINT ignored, and an ignored signal
        // stays ignored across exec: env --default-signal gives the child the dispositions a user's terminal gives.
        var psi = new ProcessStartInfo("/usr/bin/env") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        psi.ArgumentList.Add("--default-signal");
        psi.ArgumentList.Add(dotnet);
        psi.ArgumentList.Add(typeof(TestProgram).Assembly.Location);
        foreach (var a in args) psi.ArgumentList.Add(a);
        return new ChildProcess(Process.Start(psi)!);
    }

    /// <summary>Runs the CLI with <paramref name="args"/> to its end (failing the test after <paramref name="seconds"/>).</summary>
    public static async Task<(int Code, string Output, string Error)> CliAsync(int seconds, params string[] args)
    {
        using var child = Start(["cli", .. args]);
        var output = child._process.StandardOutput.ReadToEndAsync();
        await child.WaitAsync(seconds);
        return (child._process.ExitCode, await output, await child._stderr);
    }

    /// <summary>Reads stdout until a line equal to <paramref name="line"/>; fails when the child ends first or after 60 s.</summary>
    public async Task WaitForLineAsync(string line)
    {
        using var guard = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        string? read;
        while ((read = await _process.StandardOutput.ReadLineAsync(guard.Token)) is not null && read != line) { }
        if (read is null) Assert.Fail($"child ended before '{line}': {await _stderr}");
    }

    public void Signal(PosixSignalNumber signal)
    {
        if (signal == PosixSignalNumber.Kill) _process.Kill();
        else Assert.Equal(0, Kill(_process.Id, (int)signal));
    }

    /// <summary>Waits for the exit (failing the test after <paramref name="seconds"/>, i.e. a hang) and returns the exit code.</summary>
    public async Task<int> WaitAsync(int seconds = 60)
    {
        using var guard = new CancellationTokenSource(TimeSpan.FromSeconds(seconds));
        try { await _process.WaitForExitAsync(guard.Token); }
        catch (OperationCanceledException) { Assert.Fail($"child still running after {seconds} s (a hang)"); }
        return _process.ExitCode;
    }

    public Task<string> Error => _stderr;

    public void Dispose()
    {
        if (!_process.HasExited) _process.Kill(entireProcessTree: true);
        _process.Dispose();
    }

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int Kill(int pid, int signal);
}

/// <summary>Linux signal numbers.</summary>
public enum PosixSignalNumber { Int = 2, Kill = 9, Term = 15 }
