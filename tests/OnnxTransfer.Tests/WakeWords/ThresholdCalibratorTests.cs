using OnnxTransfer.WakeWords;

namespace OnnxTransfer.Tests.WakeWords;

public class ThresholdCalibratorTests
{
    [Fact]
    public void RejectBound_IsTheHighestThresholdWithinTheRejectBudget()
    {
        var rng = new Random(7);
        var scores = Enumerable.Range(0, 200).Select(_ => (float)rng.NextDouble()).ToArray();
        var thresholds = Enumerable.Range(1, 99).Select(i => i / 100.0).ToArray();
        foreach (var budget in new[] { 0.0, 0.05, 0.1, 0.5 })
        {
            var bound = ThresholdCalibrator.RejectBound(scores, thresholds, budget);
            Assert.True(scores.Count(s => s < bound) <= budget * scores.Length, $"budget {budget}: {bound} rejects too many");
            var next = thresholds.Where(t => t > bound).DefaultIfEmpty(double.NaN).Min();
            if (!double.IsNaN(next)) Assert.True(scores.Count(s => s < next) > budget * scores.Length, $"budget {budget}: {next} also fits");
        }
        Assert.Equal(double.PositiveInfinity, ThresholdCalibrator.RejectBound([], thresholds, 0.05));
        Assert.Equal(0.01, ThresholdCalibrator.RejectBound([0f, 0f], thresholds, 0.05)); // nothing fits: the lowest
    }
}
