using System.Text.RegularExpressions;
using OnnxTransfer.Runtime;

namespace OnnxTransfer.Tests.Runtime;

public class ResourceGuardTests
{
    [Fact]
    public void Close_waits_for_the_calls_inside_and_refuses_new_ones()
    {
        var guard = new ResourceGuard("thing");
        var inside = guard.Enter();
        var second = guard.Enter();
        var closed = Task.Factory.StartNew(guard.Close, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        SpinWait.SpinUntil(() => guard.IsClosed, TimeSpan.FromSeconds(10));
        Assert.True(guard.IsClosed);
        Assert.Equal("thing", Assert.Throws<ObjectDisposedException>(() => guard.Enter()).ObjectName);
        inside.Dispose();
        Assert.False(closed.Wait(200)); // one call is still inside
        second.Dispose();
        Assert.True(closed.Wait(TimeSpan.FromSeconds(10)));
        Assert.True(closed.Result);   // the first Close frees the resources
        Assert.False(guard.Close());  // a second one must not
    }

    [Fact]
    public void Close_with_nothing_inside_returns_at_once()
    {
        var guard = new ResourceGuard("thing");
        using (guard.Enter()) { }
        Assert.True(guard.Close());
        Assert.Throws<ObjectDisposedException>(guard.ThrowIfClosed);
    }

    /// <summary>
    /// Library code never blocks on a task: a UI app awaiting it would deadlock when the task's continuation needs the UI
    /// thread. CA2007 (an error in the library projects) makes every await say ConfigureAwait(false); this catches the
    /// blocking side. SemaphoreSlim, Monitor and event waits are not tasks and are allowed.
    /// </summary>
    [Fact]
    public void No_library_source_blocks_on_a_task()
    {
        var blocking = new Regex(@"GetAwaiter\(\)\s*\.GetResult\(\)|Task\.Wait(All|Any)\(|\)\s*\.Result\b|\)\s*\.Wait\(|[Tt]ask\.(Result|Wait\()");
        var libraries = Directory.GetDirectories(Path.Combine(SharedAssets.RepoRoot, "src"), "OnnxTransfer*")
            .Where(d => !Path.GetFileName(d).EndsWith(".Cli", StringComparison.Ordinal)).ToArray();
        Assert.NotEmpty(libraries);
        var offenders = libraries
            .SelectMany(d => Directory.EnumerateFiles(d, "*.cs", SearchOption.AllDirectories))
            .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal))
            .SelectMany(f => File.ReadLines(f).Select((line, i) => (f, line, i)))
            .Where(x => blocking.IsMatch(x.line))
            .Select(x => $"{Path.GetRelativePath(SharedAssets.RepoRoot, x.f)}:{x.i + 1}: {x.line.Trim()}").ToArray();
        Assert.Empty(offenders);
    }
}
