using OnnxTransfer.Curves;
using OnnxTransfer.Data;
using OnnxTransfer.Tests.Imaging;

namespace OnnxTransfer.Tests.Curves;

public class CurveSplitTests
{
    private static CurveSplit Pool(params (string Label, int Count)[] classes)
    {
        var items = classes.SelectMany(c => Enumerable.Range(0, c.Count).Select(i => new DatasetItem($"/x/{c.Label}/{i}.png", $"{c.Label}/{i}", c.Label, "train"))).ToArray();
        // Interleave so pool order is not grouped by class.
        items = items.OrderBy(i => i.Id.GetHashCode(StringComparison.Ordinal)).ToArray();
        return new CurveSplit(items, [], "none", classes.Select(c => c.Label).Order(StringComparer.Ordinal).ToArray());
    }

    [Fact]
    public void Subsets_are_stratified_nested_and_seeded()
    {
        var split = Pool(("a", 30), ("b", 12), ("c", 50));
        foreach (var seed in new ulong[] { 1, 2 })
        {
            int[]? previous = null;
            foreach (var k in new[] { 1, 5, 10, 20 })
            {
                var rows = split.Subset(k, seed);
                Assert.Equal(rows.Length, rows.Distinct().Count());
                var counts = rows.GroupBy(r => split.Pool[r].Label).ToDictionary(g => g.Key, g => g.Count());
                // k per class, or the whole class when it is smaller.
                Assert.Equal(Math.Min(k, 30), counts["a"]);
                Assert.Equal(Math.Min(k, 12), counts["b"]);
                Assert.Equal(Math.Min(k, 50), counts["c"]);
                if (previous is not null) Assert.Subset(rows.ToHashSet(), previous.ToHashSet());
                previous = rows;
            }
            Assert.Equal(split.Subset(10, seed), split.Subset(10, seed));
        }
        Assert.NotEqual(split.Subset(10, 1).Order(), split.Subset(10, 2).Order());
        Assert.Equal(Enumerable.Range(0, 92), split.Subset(null, 1));
    }

    private static string ClassFolders(TempDir dir, params (string Split, string Label, int Count)[] groups)
    {
        var bmp = ImageFixtures.Bmp(4, 4, (x, y) => (10, 20, 30));
        foreach (var (split, label, count) in groups)
        {
            var folder = Path.Combine(dir.Path, "data", split, label);
            Directory.CreateDirectory(folder);
            for (var i = 0; i < count; i++) File.WriteAllBytes(Path.Combine(folder, $"{i:D3}.bmp"), bmp);
        }
        return Path.Combine(dir.Path, "data");
    }

    [Fact]
    public void Evaluation_is_the_val_split_when_there_is_one_else_a_stratified_seeded_holdout()
    {
        using var dir = new TempDir();
        var withVal = DatasetLoader.Load(ClassFolders(dir, ("train", "x", 7), ("train", "y", 5), ("val", "x", 3), ("val", "y", 2)));
        var split = CurveSplit.From(withVal, 0.2, 1);
        Assert.Equal("val", split.EvalName);
        Assert.Equal(5, split.Eval.Count);
        Assert.All(split.Eval, i => Assert.Equal("val", i.Split));
        Assert.Equal(12, split.Pool.Count);
        Assert.All(split.Pool, i => Assert.Equal("train", i.Split));

        using var dir2 = new TempDir();
        var unsplit = DatasetLoader.Load(ClassFolders(dir2, ("train", "x", 40), ("train", "y", 10)));
        var held = CurveSplit.From(unsplit, 0.2, 1);
        Assert.Equal(8, held.Eval.Count(i => i.Label == "x"));
        Assert.Equal(2, held.Eval.Count(i => i.Label == "y"));
        Assert.Empty(held.Pool.Select(i => i.Id).Intersect(held.Eval.Select(i => i.Id)));
        Assert.Equal(50, held.Pool.Count + held.Eval.Count);
        Assert.Equal(held.Eval.Select(i => i.Id), CurveSplit.From(unsplit, 0.2, 1).Eval.Select(i => i.Id));
        Assert.NotEqual(held.Eval.Select(i => i.Id).Order(), CurveSplit.From(unsplit, 0.2, 2).Eval.Select(i => i.Id).Order());
    }

    [Fact]
    public void A_single_class_is_refused_naming_the_dataset()
    {
        using var dir = new TempDir();
        var path = ClassFolders(dir, ("train", "x", 4));
        var e = Assert.Throws<OnnxTransferException>(() => CurveSplit.From(DatasetLoader.Load(path), 0.2, 1));
        Assert.Contains("at least 2", e.Message);
    }
}
