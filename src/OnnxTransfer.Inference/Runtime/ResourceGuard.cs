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
    // The calls inside, with the sign bit set once closed: entering and leaving are one interlocked operation each,
    // so concurrent calls do not queue on a lock.
    private const int ClosedBit = int.MinValue;
    private int _state;
    private readonly ManualResetEventSlim _drained = new(false);

    /// <summary>True once <see cref="Close"/> has started.</summary>
    public bool IsClosed => Volatile.Read(ref _state) < 0;

    /// <summary>Enters for one call (dispose the lease when the call is done); throws once closed.</summary>
    public Lease Enter()
    {
        while (true)
        {
            var state = Volatile.Read(ref _state);
            if (state < 0) throw new ObjectDisposedException(owner);
            if (Interlocked.CompareExchange(ref _state, state + 1, state) == state) return new Lease(this);
        }
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
        var before = Interlocked.Or(ref _state, ClosedBit);
        if (before < 0) return false;
        // Not disposed afterwards: the last call out may still be inside Set when Wait returns.
        if (before != 0) _drained.Wait();
        return true;
    }

    private void Exit()
    {
        if (Interlocked.Decrement(ref _state) == ClosedBit) _drained.Set();
    }

    /// <summary>One call's stay inside the guard.</summary>
    public readonly struct Lease(ResourceGuard guard) : IDisposable
    {
        /// <summary>Leaves the guard.</summary>
        public void Dispose() => guard.Exit();
    }
}
