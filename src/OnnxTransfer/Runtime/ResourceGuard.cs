namespace OnnxTransfer.Runtime;

/// <summary>
/// Counts the calls using an object's native resources (ONNX Runtime sessions) so that its Dispose can wait for
/// the calls in flight before freeing them: freeing a session under a running <c>Run</c> is a native
/// use-after-free that kills the process. Any number of calls may be inside at once; once closed, new calls throw
/// <see cref="ObjectDisposedException"/>.
/// </summary>
/// <remarks>Dispose from inside a call of the same object would wait for itself; nothing in the library does.</remarks>
internal sealed class ResourceGuard(string owner)
{
    private readonly object _gate = new();
    private int _active;
    private bool _closed;

    /// <summary>True once <see cref="Close"/> has started.</summary>
    public bool IsClosed
    {
        get { lock (_gate) return _closed; }
    }

    /// <summary>Enters for one call (dispose the lease when the call is done); throws once closed.</summary>
    public Lease Enter()
    {
        lock (_gate)
        {
            if (_closed) throw new ObjectDisposedException(owner);
            _active++;
        }
        return new Lease(this);
    }

    /// <summary>Throws <see cref="ObjectDisposedException"/> once closed (for calls that touch no native resource).</summary>
    public void ThrowIfClosed()
    {
        if (IsClosed) throw new ObjectDisposedException(owner);
    }

    /// <summary>
    /// Refuses new calls and waits until the calls in flight have left. True for the first call only, so the
    /// caller frees its resources exactly once.
    /// </summary>
    public bool Close()
    {
        lock (_gate)
        {
            if (_closed) return false;
            _closed = true;
            while (_active > 0) Monitor.Wait(_gate);
            return true;
        }
    }

    private void Exit()
    {
        lock (_gate)
            if (--_active == 0 && _closed) Monitor.PulseAll(_gate);
    }

    /// <summary>One call's stay inside the guard.</summary>
    public readonly struct Lease(ResourceGuard guard) : IDisposable
    {
        /// <summary>Leaves the guard.</summary>
        public void Dispose() => guard.Exit();
    }
}
