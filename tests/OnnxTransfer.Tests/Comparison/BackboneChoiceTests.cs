using OnnxTransfer.Comparison;

namespace OnnxTransfer.Tests.Comparison;

public class BackboneChoiceTests
{
    private static BackboneScore Score(string name, double balanced, double sd, double latencyMs) =>
        new(name, name, 8, balanced, sd, balanced, sd, [balanced], 10, 100, latencyMs, 1000, "", true, 0, 0);

    [Fact]
    public void The_best_balanced_accuracy_wins_when_no_other_is_within_one_sd()
    {
        var (winner, reason) = BackboneChoice.Choose([Score("fast", 0.80, 0.02, 3), Score("accurate", 0.90, 0.02, 30)]);
        Assert.Equal("accurate", winner.Backbone);
        Assert.StartsWith("accurate: best balanced accuracy (90.0% ± 2.0%)", reason);
        Assert.Contains("fast (80.0%)", reason);
    }

    [Fact]
    public void Within_one_sd_of_the_best_the_faster_wins_and_the_reason_says_so()
    {
        var (winner, reason) = BackboneChoice.Choose([Score("accurate", 0.90, 0.05, 30), Score("fast", 0.86, 0.01, 3), Score("poor", 0.70, 0.01, 1)]);
        Assert.Equal("fast", winner.Backbone);
        Assert.Contains("within 1 sd (5.0%) of the best (accurate, 90.0%)", reason);
        Assert.Contains("3.0 vs 30.0 ms/image", reason);
        Assert.DoesNotContain('\n', reason);

        // The tie is judged by the best's sd: with a tighter best the same gap is no tie.
        Assert.Equal("accurate", BackboneChoice.Choose([Score("accurate", 0.90, 0.03, 30), Score("fast", 0.86, 0.01, 3)]).Winner.Backbone);
    }

    [Fact]
    public void The_best_that_is_also_the_fastest_of_the_tied_wins_and_one_candidate_wins_alone()
    {
        var (winner, reason) = BackboneChoice.Choose([Score("a", 0.90, 0.05, 3), Score("b", 0.88, 0.01, 30)]);
        Assert.Equal("a", winner.Backbone);
        Assert.Contains("fastest of the 2 within 1 sd", reason);
        Assert.Contains("the only backbone", BackboneChoice.Choose([Score("a", 0.5, 0, 1)]).Reason);
        Assert.Throws<OnnxTransferException>(() => BackboneChoice.Choose([]));
    }
}
