using System.Collections.Concurrent;

namespace OnnxTransfer.Tests;

/// <summary>
/// A UI-style SynchronizationContext: continuations posted to it run one at a time on its own thread, which does
/// nothing else. Library code that blocks on a task whose continuation was captured here deadlocks, as it would on a
/// WPF or WinForms dispatcher; <see cref="Run{T}"/> turns that into a test failure after a timeout.
/// </summary>
public sealed class MessageLoop : SynchronizationContext
{
    private readonly BlockingCollection<(SendOrPostCallback Callback, object? State)> _queue = new();

    public override void Post(SendOrPostCallback d, object? state)
    {
        // Late posts (after the body finished) run on the pool rather than fail the poster.
        try { _queue.Add((d, state)); }
        catch (InvalidOperationException) { ThreadPool.QueueUserWorkItem(_ => d(state)); }
    }

    public override void Send(SendOrPostCallback d, object? state) =>
        throw new NotSupportedException("a message loop thread cannot wait for itself");

    public override SynchronizationContext CreateCopy() => this;

    /// <summary>
    /// Starts <paramref name="body"/> on a new message-loop thread and pumps until its task completes; throws
    /// <see cref="TimeoutException"/> when the loop is still busy after <paramref name="timeout"/> (a deadlock).
    /// </summary>
    public static T Run<T>(Func<Task<T>> body, TimeSpan timeout)
    {
        var loop = new MessageLoop();
        Task<T>? task = null;
        Exception? startFailure = null;
        var thread = new Thread(() =>
        {
            SetSynchronizationContext(loop);
            try
            {
                task = body();
                task.ContinueWith(_ => loop._queue.CompleteAdding(), TaskScheduler.Default);
            }
            catch (Exception e)
            {
                startFailure = e;
                return;
            }
            foreach (var (callback, state) in loop._queue.GetConsumingEnumerable()) callback(state);
        }) { IsBackground = true, Name = "message loop" };
        thread.Start();
        if (!thread.Join(timeout))
            throw new TimeoutException($"the message loop was still blocked after {timeout.TotalSeconds:F0} s: the code under test waits for a continuation it queued on the loop's own thread (sync-over-async).");
        if (startFailure is not null) throw startFailure;
        return task!.GetAwaiter().GetResult();
    }
}
