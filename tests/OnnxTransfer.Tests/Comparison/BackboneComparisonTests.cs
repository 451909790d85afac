using OnnxTransfer.Comparison;
using OnnxTransfer.Features;

namespace OnnxTransfer.Tests.Comparison;

/// <summary>The comparison on a small hymenoptera copy with the int8 MobileNetV2 given as a file (two names for it, and one missing file).</summary>
public class BackboneComparisonTests
{
    private static string[] Candidates(TempDir dir)
    {
        var copy = dir.File("twin.onnx");
        File.Copy(SharedAssets.MobileNetV2Int8, copy);
        return [SharedAssets.MobileNetV2Int8, copy, dir.File("missing.onnx")];
    }

    [Fact]
    public async Task The_probe_uses_only_the_training_split_in_stratified_disjoint_folds_and_scores_every_candidate()
    {
        using var dir = new TempDir();
        var data = SharedAssets.SmallHymenoptera(dir, train: 10, val: 4);
        var result = await BackboneComparison.RunAsync(data, Candidates(dir), dir.File("cmp"), new ComparisonOptions { Folds = 5 });

        // Never the val split (fit's evaluation items): exactly the 20 training images.
        Assert.Equal(20, result.ProbeItems.Length);
        Assert.All(result.ProbeItems, id => Assert.StartsWith("train/", id));
        Assert.Contains("8 evaluation items (val) are never probed", result.Probe);
        // Five folds, each with two images of each class; every image in exactly one.
        Assert.Equal(result.ProbeItems.Length, result.FoldOf.Length);
        foreach (var label in new[] { "ants", "bees" })
            Assert.All(Enumerable.Range(0, 5), f => Assert.Equal(2,
                result.ProbeItems.Where((id, i) => id.StartsWith($"train/{label}/", StringComparison.Ordinal) && result.FoldOf[i] == f).Count()));

        Assert.Equal(["mobilenetv2-12-int8", "twin"], result.Scores.Select(s => s.Backbone));
        Assert.Equal(Path.Combine(dir.Path, "missing.onnx"), Assert.Single(result.Skipped).Backbone);
        foreach (var s in result.Scores)
        {
            Assert.Equal(5, s.FoldBalancedAccuracy.Length);
            Assert.InRange(s.BalancedAccuracy, 0.5, 1.0); // ants vs bees from ImageNet features: well above chance
            Assert.Equal(s.FoldBalancedAccuracy.Average(), s.BalancedAccuracy, 12);
            Assert.True(s.LatencyMs > 0 && s.FeaturesPerSecond > 0);
            Assert.Equal(new FileInfo(SharedAssets.MobileNetV2Int8).Length, s.ModelBytes);
            // The whole dataset is cached (what fit would extract), though only the training side is probed.
            Assert.True(s.WholeDataset);
            Assert.Equal(28, FeatureStore.Read(s.FeaturesPath).Count);
        }
        // The same model under two names scores the same: the probe depends on the features and the seed only.
        Assert.Equal(result.Scores[0].FoldBalancedAccuracy, result.Scores[1].FoldBalancedAccuracy);
        Assert.Contains(result.Chosen, result.Scores.Select(s => s.Backbone));
        Assert.True(File.Exists(dir.File("cmp/compare.md")));
        Assert.Equal(result.Chosen, ComparisonReport.ReadJson(dir.File("cmp/compare.json"))!.Chosen);
        Console.WriteLine(ComparisonReport.Markdown(result));
    }

    [Fact]
    public async Task A_rerun_reads_the_cached_features_and_a_per_class_limit_extracts_only_the_probed_items()
    {
        using var dir = new TempDir();
        var data = SharedAssets.SmallHymenoptera(dir, train: 10, val: 4);
        string[] model = [SharedAssets.MobileNetV2Int8];
        var first = (await BackboneComparison.RunAsync(data, model, dir.File("cmp"))).Scores.Single();
        var written = File.GetLastWriteTimeUtc(first.FeaturesPath);
        var again = (await BackboneComparison.RunAsync(data, model, dir.File("cmp"))).Scores.Single();
        Assert.Equal(written, File.GetLastWriteTimeUtc(again.FeaturesPath));
        Assert.Equal(first.FoldBalancedAccuracy, again.FoldBalancedAccuracy);

        var limited = await BackboneComparison.RunAsync(data, model, dir.File("cmp"), new ComparisonOptions { PerClass = 4 });
        var score = limited.Scores.Single();
        Assert.False(score.WholeDataset);
        Assert.NotEqual(first.FeaturesPath, score.FeaturesPath);
        Assert.Equal(limited.ProbeItems.Order(StringComparer.Ordinal), FeatureStore.Read(score.FeaturesPath).Paths.Order(StringComparer.Ordinal));
        Assert.Equal(8, limited.ProbeItems.Length);
        Assert.Equal(4, limited.Folds); // 4 per class: one fold per image of a class
    }

    [Fact]
    public async Task When_no_candidate_loads_the_error_names_each_with_its_reason()
    {
        using var dir = new TempDir();
        var data = SharedAssets.SmallHymenoptera(dir, train: 3, val: 1);
        var e = await Assert.ThrowsAsync<OnnxTransferException>(() => BackboneComparison.RunAsync(data, [dir.File("a.onnx"), dir.File("b.onnx")], dir.File("cmp")));
        Assert.Contains("no backbone could be compared", e.Message);
        Assert.Contains($"{dir.File("a.onnx")}: file not found", e.Message);
        Assert.Contains(dir.File("b.onnx"), e.Message);
        Assert.DoesNotContain('\n', e.Message);
    }
}
