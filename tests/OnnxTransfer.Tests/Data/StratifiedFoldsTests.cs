using OnnxTransfer.Data;

namespace OnnxTransfer.Tests.Data;

public class StratifiedFoldsTests
{
    private static (string[] Keys, string[] Labels) Rows(params (string Label, int Count)[] classes)
    {
        var rows = classes.SelectMany(c => Enumerable.Range(0, c.Count).Select(i => (Key: $"{c.Label}/{i:D3}.jpg", c.Label))).ToArray();
        return (rows.Select(r => r.Key).ToArray(), rows.Select(r => r.Label).ToArray());
    }

    [Fact]
    public void Every_class_is_dealt_evenly_over_the_folds_and_each_row_is_in_exactly_one()
    {
        var (keys, labels) = Rows(("a", 23), ("b", 7), ("c", 5));
        var fold = StratifiedSplit.Folds(keys, labels, 5, seed: 1);

        Assert.Equal(keys.Length, fold.Length);
        Assert.All(fold, f => Assert.InRange(f, 0, 4));
        foreach (var label in new[] { "a", "b", "c" })
        {
            var counts = Enumerable.Range(0, 5).Select(f => Enumerable.Range(0, keys.Length).Count(i => labels[i] == label && fold[i] == f)).ToArray();
            Assert.True(counts.Max() - counts.Min() <= 1, $"{label}: {string.Join(",", counts)}");
            Assert.Equal(labels.Count(l => l == label), counts.Sum());
        }
        // The five test folds are disjoint and cover every row: their union, counted, is the row count.
        Assert.Equal(keys.Length, Enumerable.Range(0, 5).Sum(f => fold.Count(x => x == f)));
    }

    [Fact]
    public void Folds_follow_the_keys_not_the_row_order_and_change_with_the_seed()
    {
        var (keys, labels) = Rows(("a", 20), ("b", 20));
        var fold = StratifiedSplit.Folds(keys, labels, 4, seed: 7);
        var reversed = StratifiedSplit.Folds(keys.Reverse().ToArray(), labels.Reverse().ToArray(), 4, seed: 7);
        var byKey = keys.Zip(fold).ToDictionary(p => p.First, p => p.Second);
        var reversedByKey = keys.Reverse().Zip(reversed).ToDictionary(p => p.First, p => p.Second);
        Assert.All(keys, k => Assert.Equal(byKey[k], reversedByKey[k]));
        Assert.NotEqual(fold, StratifiedSplit.Folds(keys, labels, 4, seed: 8));
    }

    [Fact]
    public void A_group_never_spans_two_folds()
    {
        var (keys, labels) = Rows(("a", 30), ("b", 30));
        string Group(int i) => keys[i][..4]; // "a/00", "a/01", "a/02": ten rows per group
        var fold = StratifiedSplit.Folds(keys, labels, 3, seed: 2, Group);
        Assert.All(Enumerable.Range(0, keys.Length).GroupBy(Group), g => Assert.Single(g.Select(i => fold[i]).Distinct()));
        Assert.Equal(3, fold.Distinct().Count());
    }

    [Fact]
    public void Fewer_than_two_folds_are_refused()
    {
        var (keys, labels) = Rows(("a", 4), ("b", 4));
        Assert.Contains("--folds 1", Assert.Throws<OnnxTransferException>(() => StratifiedSplit.Folds(keys, labels, 1, 1)).Message);
    }
}
