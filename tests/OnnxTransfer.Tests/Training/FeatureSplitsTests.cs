using OnnxTransfer.Features;
using OnnxTransfer.Training;

namespace OnnxTransfer.Tests.Training;

public class FeatureSplitsTests
{
    private static FeatureTable Table(int perClass, params string[] splits)
    {
        var labels = new List<string>();
        var paths = new List<string>();
        var splitCol = new List<string>();
        foreach (var label in new[] { "a", "b" })
            for (var i = 0; i < perClass; i++)
            {
                labels.Add(label);
                paths.Add($"{label}/{i}.jpg");
                splitCol.Add(splits.Length == 0 ? "" : splits[i % splits.Length]);
            }
        var n = labels.Count;
        return new FeatureTable(paths.ToArray(), labels.ToArray(), splitCol.ToArray(), Enumerable.Range(0, n * 2).Select(i => (float)i).ToArray(), 2);
    }

    [Fact]
    public void Named_splits_are_used_as_given()
    {
        var s = FeatureSplits.From(Table(6, "train", "train", "val", "test"));
        // Per class, rows 0..5 take splits train, train, val, test, train, train.
        Assert.Equal(8, s.Train.Count);
        Assert.Equal(2, s.Validation!.Count);
        Assert.Equal(2, s.Test!.Count);
        Assert.Same(s.Test, s.Holdout);
    }

    [Fact]
    public void Holdout_is_stratified_disjoint_and_stable()
    {
        var table = Table(10);
        var s = FeatureSplits.From(table).WithHoldout(0.2, seed: 3);
        Assert.Equal(4, s.Test!.Count);
        Assert.Equal(2, s.Test.Labels.Count(l => l == "a"));
        Assert.Equal(16, s.Train.Count);
        Assert.Empty(s.Train.Paths.Intersect(s.Test.Paths));
        var again = FeatureSplits.From(table).WithHoldout(0.2, seed: 3);
        Assert.Equal(s.Test.Paths, again.Test!.Paths);
        var other = FeatureSplits.From(table).WithHoldout(0.2, seed: 4);
        Assert.NotEqual(s.Test.Paths.Order(), other.Test!.Paths.Order());
    }

    [Fact]
    public void Per_class_limit_keeps_n_of_each_class_and_leaves_the_holdout_alone()
    {
        var s = FeatureSplits.From(Table(10)).WithHoldout(0.2, 1).LimitTrainPerClass(3, 1);
        Assert.Equal(3, s.Train.Labels.Count(l => l == "a"));
        Assert.Equal(3, s.Train.Labels.Count(l => l == "b"));
        Assert.Equal(4, s.Test!.Count);
        Assert.Throws<OnnxTransferException>(() => s.LimitTrainPerClass(0, 1));
    }

    [Fact]
    public void Unknown_split_names_the_ones_present()
    {
        var e = Assert.Throws<OnnxTransferException>(() => FeatureSplits.Select(Table(2, "train", "val"), "test"));
        Assert.Contains("train", e.Message);
    }
}
