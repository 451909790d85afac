using OnnxTransfer.Features;
using OnnxTransfer.Training.Heads;

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
    public void Unknown_split_names_the_ones_present()
    {
        var e = Assert.Throws<OnnxTransferException>(() => FeatureSplits.Select(Table(2, "train", "val"), "test"));
        Assert.Contains("train", e.Message);
    }
}
