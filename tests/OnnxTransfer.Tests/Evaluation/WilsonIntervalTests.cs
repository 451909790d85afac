using OnnxTransfer.Evaluation;

namespace OnnxTransfer.Tests.Evaluation;

public class WilsonIntervalTests
{
    [Theory]
    [InlineData(1, 10)]
    [InlineData(5, 10)]
    [InlineData(33, 96)]
    [InlineData(119, 120)]
    public void Ends_are_the_rates_whose_score_test_just_accepts_the_observed_rate(int events, int trials)
    {
        // Wilson's interval is every rate π with |p − π| ≤ z·sqrt(π(1 − π)/n): each end solves it with equality.
        var (low, high) = WilsonInterval.Of(events, trials);
        var p = (double)events / trials;
        foreach (var end in new[] { low, high })
            Assert.Equal(WilsonInterval.Z95 * Math.Sqrt(end * (1 - end) / trials), Math.Abs(p - end), 9);
        Assert.True(low < p && p < high, $"{low} < {p} < {high}");
    }

    [Fact]
    public void No_misses_of_ten_clips_still_allows_a_miss_rate_near_28_percent()
    {
        var (low, high) = WilsonInterval.Of(0, 10);
        var z2 = WilsonInterval.Z95 * WilsonInterval.Z95;
        Assert.Equal(0, low);
        Assert.Equal(z2 / (10 + z2), high, 12); // the closed form at 0 events
        Assert.Equal((0.0, 1.0), WilsonInterval.Of(0, 0));
        Assert.Equal(1, WilsonInterval.Of(10, 10).High);
    }

    [Fact]
    public void More_trials_narrow_the_interval_and_bad_counts_are_refused()
    {
        var (l10, h10) = WilsonInterval.Of(3, 10);
        var (l100, h100) = WilsonInterval.Of(30, 100);
        Assert.True(h100 - l100 < (h10 - l10) / 2.5);
        Assert.Throws<ArgumentOutOfRangeException>(() => WilsonInterval.Of(11, 10));
        Assert.Throws<ArgumentOutOfRangeException>(() => WilsonInterval.Of(-1, 10));
    }
}
