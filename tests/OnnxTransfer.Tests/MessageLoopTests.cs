namespace OnnxTransfer.Tests;

/// <summary>The test harness itself: a blocking wait on the loop's thread is reported, not passed.</summary>
public class MessageLoopTests
{
    [Fact]
    public void Sync_over_async_on_the_loop_is_reported_as_a_deadlock()
    {
        static async Task<int> Later()
        {
            await Task.Delay(10); // resumes on the loop's thread, which the caller blocks
            return 1;
        }
        var e = Assert.Throws<TimeoutException>(() => MessageLoop.Run(() => Task.FromResult(Later().GetAwaiter().GetResult()), TimeSpan.FromSeconds(2)));
        Assert.Contains("sync-over-async", e.Message);
        Assert.Equal(2, MessageLoop.Run(async () => await Later() + 1, TimeSpan.FromSeconds(30)));
    }
}
