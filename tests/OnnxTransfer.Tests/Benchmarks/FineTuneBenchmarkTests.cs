using OnnxTransfer.Backbones;
using OnnxTransfer.Benchmarks;

namespace OnnxTransfer.Tests.Benchmarks;

public class FineTuneBenchmarkTests
{
    [Fact]
    public async Task Both_modes_train_on_the_same_images_and_report_their_epochs()
    {
        using var dir = new TempDir();
        var data = SharedAssets.SmallHymenoptera(dir, train: 4, val: 0);
        using var backbone = await FeatureBackbone.LoadAsync(SharedAssets.MobileNetV2Int8);
        var items = backbone.LoadDataset(data).Items;
        var result = FineTuneBenchmark.Run(backbone, items, new FineTuneBenchmarkOptions { Epochs = 1, Repeat = 1, BatchSize = 4, Threads = 1 });

        Assert.Equal(8, result.Items);
        Assert.Equal(4, result.Unfreeze);
        Assert.False(string.IsNullOrEmpty(result.Boundary));
        Assert.Single(result.CachedEpochSeconds.Values);
        Assert.Single(result.WholeNetworkEpochSeconds.Values);
        Assert.All(result.CachedEpochSeconds.Values.Concat(result.WholeNetworkEpochSeconds.Values).Append(result.CacheSeconds), s => Assert.True(s > 0));
        Assert.Equal(result.WholeNetworkEpochSeconds.Median / result.CachedEpochSeconds.Median, result.SpeedUp, 12);
    }

    [Fact]
    public async Task One_class_is_refused()
    {
        using var dir = new TempDir();
        var data = SharedAssets.SmallHymenoptera(dir, train: 2, val: 0);
        using var backbone = await FeatureBackbone.LoadAsync(SharedAssets.MobileNetV2Int8);
        var ants = backbone.LoadDataset(data).Items.Where(i => i.Label == "ants").ToArray();
        var e = Assert.Throws<OnnxTransferException>(() => FineTuneBenchmark.Run(backbone, ants));
        Assert.Contains("1 class", e.Message);
    }
}
