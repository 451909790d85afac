using OnnxTransfer.Backbones;
using OnnxTransfer.Benchmarks;

namespace OnnxTransfer.Tests.Benchmarks;

public class ExtractionBenchmarkTests
{
    [Fact]
    public async Task Both_machine_limits_come_from_measured_cpu_time_of_the_same_items()
    {
        using var dir = new TempDir();
        var data = SharedAssets.SmallHymenoptera(dir, train: 6, val: 0);
        using var backbone = await FeatureBackbone.LoadAsync(SharedAssets.MobileNetV2Int8);
        var items = backbone.LoadDataset(data).Items;
        var result = await ExtractionBenchmark.RunAsync(backbone, items, data, new ExtractionBenchmarkOptions { Repeat = 1, WorkDirectory = dir.File("work") });

        Assert.Equal(12, result.Items);
        Assert.Equal(12, result.Ours.Items);
        foreach (var limit in new[] { result.Limit, result.LimitAllCoresBusy })
        {
            Assert.Equal(Environment.ProcessorCount, limit.Cores);
            Assert.True(limit.DecodeCpuSecondsPerItem > 0, "decode CPU measured");
            Assert.True(limit.InferenceCpuSecondsPerItem > 0, "inference CPU measured");
            Assert.Equal(limit.Cores / limit.CpuSecondsPerItem, limit.ItemsPerSecond, 9);
        }
        // Each limit is the median of its own samples, one per repeat.
        Assert.Equal(result.DecodeCpuSecondsPerItemAllCores.Median, result.LimitAllCoresBusy.DecodeCpuSecondsPerItem);
        Assert.Equal(result.InferenceCpuSecondsPerItemAllCores.Median, result.LimitAllCoresBusy.InferenceCpuSecondsPerItem);
        Assert.Single(result.DecodeCpuSecondsPerItemAllCores.Values);
        Assert.Equal(result.Ours.ItemsPerSecond.Median / result.LimitAllCoresBusy.ItemsPerSecond, result.OursOverLimitAllCoresBusy, 12);
    }
}
