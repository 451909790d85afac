using OnnxTransfer.Curves;
using OnnxTransfer.Data;
using OnnxTransfer.Tests.Imaging;

namespace OnnxTransfer.Tests.Data;

public class DataSplitTests
{
    private static DatasetItem Item(string split, string label, string name) =>
        new($"/d/{label}/{name}", split.Length == 0 ? $"{label}/{name}" : $"{split}/{label}/{name}", label, split);

    private static DatasetItem[] Unsplit(params (string Label, int Count)[] classes) =>
        classes.SelectMany(c => Enumerable.Range(0, c.Count).Select(i => Item("", c.Label, $"{i:D3}.png"))).ToArray();

    private static string[] Ids(IEnumerable<DatasetItem> items) => items.Select(i => i.Id).Order(StringComparer.Ordinal).ToArray();

    private static void AssertDisjoint(DataSplit s)
    {
        Assert.Empty(Ids(s.Train).Intersect(Ids(s.Validation)));
        Assert.Empty(Ids(s.Train).Intersect(Ids(s.Evaluation)));
        Assert.Empty(Ids(s.Validation).Intersect(Ids(s.Evaluation)));
    }

    [Fact]
    public void Unsplit_data_gets_a_stratified_holdout_and_an_early_stopping_carve_keyed_on_item_ids()
    {
        var items = Unsplit(("a", 40), ("b", 10));
        var s = DataSplit.Plan(items, new DataSplitOptions { Seed = 3 });
        Assert.Equal([8, 2], new[] { "a", "b" }.Select(c => s.Evaluation.Count(i => i.Label == c)));
        Assert.Equal([3, 1], new[] { "a", "b" }.Select(c => s.Validation.Count(i => i.Label == c))); // 10 % of 32 and of 8
        Assert.Equal(50, s.Train.Count + s.Validation.Count + s.Evaluation.Count);
        AssertDisjoint(s);
        Assert.StartsWith("stratified 20", s.EvaluationName);
        Assert.Contains("training items", s.ValidationName);

        // The same seed picks the same items whatever order they come in; another seed picks others.
        var reversed = DataSplit.Plan(items.Reverse().ToArray(), new DataSplitOptions { Seed = 3 });
        Assert.Equal(Ids(s.Evaluation), Ids(reversed.Evaluation));
        Assert.Equal(Ids(s.Validation), Ids(reversed.Validation));
        Assert.NotEqual(Ids(s.Evaluation), Ids(DataSplit.Plan(items, new DataSplitOptions { Seed = 4 }).Evaluation));
    }

    [Fact]
    public void With_only_a_val_split_val_is_evaluated_and_early_stopping_comes_out_of_train()
    {
        var items = Enumerable.Range(0, 10).SelectMany(i => new[] { Item("train", "a", $"{i}.png"), Item("train", "b", $"{i}.png") })
            .Concat(Enumerable.Range(0, 3).SelectMany(i => new[] { Item("val", "a", $"{i}.png"), Item("val", "b", $"{i}.png") })).ToArray();
        var s = DataSplit.Plan(items, new DataSplitOptions());
        Assert.Equal("val", s.EvaluationName);
        Assert.All(s.Evaluation, i => Assert.Equal("val", i.Split));
        Assert.Equal(6, s.Evaluation.Count);
        Assert.All(s.Validation, i => Assert.Equal("train", i.Split));
        Assert.Equal(2, s.Validation.Count);
        AssertDisjoint(s);

        // With a test split, the dataset's val split drives early stopping and test is evaluated.
        var withTest = items.Concat([Item("test", "a", "t.png"), Item("test", "b", "t.png")]).ToArray();
        var t = DataSplit.Plan(withTest, new DataSplitOptions());
        Assert.Equal(("val", "test"), (t.ValidationName, t.EvaluationName));
        Assert.Equal(20, t.Train.Count);
        AssertDisjoint(t);
    }

    [Fact]
    public void Per_class_limit_is_nested_and_is_what_a_curve_subset_of_the_same_seed_trains_on()
    {
        var items = Unsplit(("a", 30), ("b", 12));
        using var dataset = new TempDir();
        {
            var bmp = ImageFixtures.Bmp(4, 4, (x, y) => (10, 20, 30));
            foreach (var i in items)
            {
                Directory.CreateDirectory(Path.Combine(dataset.Path, i.Label));
                File.WriteAllBytes(Path.Combine(dataset.Path, i.Id), bmp);
            }
            var loaded = DatasetLoader.Load(dataset.Path);
            var curve = CurveSplit.From(loaded, 0.2, holdoutSeed: 2);
            var fit = DataSplit.Plan(loaded.Items, new DataSplitOptions { Seed = 2, ValidationFraction = 0 });
            Assert.Equal(Ids(fit.Evaluation), Ids(curve.Eval));
            HashSet<string>? smaller = null;
            foreach (var n in new[] { 2, 5, 9 })
            {
                var limited = DataSplit.Plan(loaded.Items, new DataSplitOptions { Seed = 2, ValidationFraction = 0, PerClass = n });
                Assert.Equal(Ids(limited.Train), Ids(curve.Subset(n, seed: 2).Select(r => curve.Pool[r])));
                Assert.Equal([n, n], new[] { "a", "b" }.Select(c => limited.Train.Count(i => i.Label == c)));
                Assert.Equal(Ids(fit.Evaluation), Ids(limited.Evaluation)); // the limit never touches the hold-out
                if (smaller is not null) Assert.Subset(Ids(limited.Train).ToHashSet(), smaller);
                smaller = Ids(limited.Train).ToHashSet();
            }
        }
    }

    // Patients with scans in both classes: person{p}_{class}_{k}.
    private static DatasetItem[] Patients(int patients, int scans) =>
        Enumerable.Range(0, patients).SelectMany(p => Enumerable.Range(0, scans).Select(k =>
        {
            var label = (p + k) % 3 == 0 ? "sick" : "well";
            return Item("", label, $"person{p}_{label}_{k}.png");
        })).ToArray();

    [Fact]
    public void Grouping_keeps_every_group_on_one_side_of_the_holdout_and_the_early_stopping_carve()
    {
        var items = Patients(60, 4);
        var grouping = ItemGrouping.FileNamePattern(@"person(\d+)_");
        string Group(DatasetItem i) => grouping.GroupOf(i);
        var s = DataSplit.Plan(items, new DataSplitOptions { Seed = 1, Grouping = grouping, ValidationFraction = 0.2 });
        var sides = new[] { s.Train, s.Validation, s.Evaluation }.Select(side => side.Select(Group).ToHashSet()).ToArray();
        Assert.All(sides, side => Assert.NotEmpty(side));
        Assert.Empty(sides[0].Intersect(sides[1]));
        Assert.Empty(sides[0].Intersect(sides[2]));
        Assert.Empty(sides[1].Intersect(sides[2]));
        Assert.Equal(items.Length, s.Train.Count + s.Validation.Count + s.Evaluation.Count);
        // Both classes are still held out, near their share.
        Assert.InRange(s.Evaluation.Count(i => i.Label == "sick"), 10, 30);
        Assert.InRange(s.Evaluation.Count(i => i.Label == "well"), 20, 60);

        // Without grouping the same seed splits some patient across train and evaluation: the leak grouping removes.
        var plain = DataSplit.Plan(items, new DataSplitOptions { Seed = 1, ValidationFraction = 0.2 });
        Assert.NotEmpty(plain.Train.Select(Group).Intersect(plain.Evaluation.Select(Group)));
    }

    [Fact]
    public void Grouping_errors_name_the_file_or_the_group_and_the_fix()
    {
        var items = Patients(5, 2).Append(Item("", "well", "scan_7.png")).ToArray();
        var e = Assert.Throws<OnnxTransferException>(() => DataSplit.Plan(items, new DataSplitOptions { Grouping = ItemGrouping.FileNamePattern(@"person(\d+)_") }));
        Assert.Contains("well/scan_7.png", e.Message);
        Assert.Contains("--group-by", e.Message);

        Assert.Contains("not a valid regular expression", Assert.Throws<OnnxTransferException>(() => ItemGrouping.FileNamePattern("person(")).Message);

        // The dataset's own splits cannot be regrouped: a patient in both train and val is refused.
        var given = new[] { Item("train", "well", "person1_a.png"), Item("train", "sick", "person2_a.png"), Item("val", "well", "person1_b.png"), Item("val", "sick", "person3_b.png") };
        var shared = Assert.Throws<OnnxTransferException>(() => DataSplit.Plan(given, new DataSplitOptions { Grouping = ItemGrouping.FileNamePattern(@"person(\d+)_") }));
        Assert.Contains("'1'", shared.Message);
        Assert.Contains("train/well/person1_a.png", shared.Message);
    }

    [Fact]
    public void The_whole_match_is_the_group_when_the_pattern_has_no_capture_group()
    {
        var grouping = ItemGrouping.FileNamePattern(@"^[a-z]+\d+");
        Assert.Equal("person12", grouping.GroupOf(Item("", "x", "person12_virus_3.png")));
        Assert.Equal("12", ItemGrouping.FileNamePattern(@"person(\d+)").GroupOf(Item("", "x", "person12_virus_3.png")));
    }
}
