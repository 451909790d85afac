using System.Runtime.InteropServices;

namespace OnnxTransfer.Cli;

/// <summary>
/// Turns Ctrl-C (SIGINT) and SIGTERM (Kubernetes preemption, <c>docker stop</c>, Slurm) into a cancellation, so a
/// long command finishes its current chunk, keeps it and exits (130 after SIGINT, 143 after SIGTERM) instead of
/// being killed with nothing saved. A second signal is not intercepted: it ends the process at once.
/// </summary>
internal sealed class StopSignals : IDisposable
{
    private readonly CancellationTokenSource _cancel = new();
    private readonly PosixSignalRegistration[] _registrations;
    private int _signal;

    /// <summary>Starts listening for SIGINT and SIGTERM.</summary>
    public StopSignals() =>
        _registrations = [PosixSignalRegistration.Create(PosixSignal.SIGINT, Handle), PosixSignalRegistration.Create(PosixSignal.SIGTERM, Handle)];

    /// <summary>Cancelled by the first signal.</summary>
    public CancellationToken Token => _cancel.Token;

    /// <summary>The conventional exit code for the signal received: 128 + its number (130 for SIGINT, 143 for SIGTERM).</summary>
    public int ExitCode => _signal == (int)PosixSignal.SIGTERM ? 143 : 130;

    private void Handle(PosixSignalContext context)
    {
        if (Interlocked.CompareExchange(ref _signal, (int)context.Signal, 0) != 0) return;
        context.Cancel = true;
        _cancel.Cancel();
    }

    /// <inheritdoc />
    public void Dispose()
    {
        foreach (var r in _registrations) r.Dispose();
        _cancel.Dispose();
    }
}
