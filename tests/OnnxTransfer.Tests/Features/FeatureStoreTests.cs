using OnnxTransfer.Data;
using OnnxTransfer.Features;

namespace OnnxTransfer.Tests.Features;

public class FeatureStoreTests
{
    private static FeatureTable RandomTable(int rows, int dim, int seed)
    {
        var rng = new Random(seed);
        var paths = Enumerable.Range(0, rows).Select(i => $"d{rng.Next(1000):D3}/f{i:D5}.jpg").ToArray();
        var labels = paths.Select((_, i) => i % 4 == 0 ? "" : $"class {i % 7}, \"x\"").ToArray();
        var splits = paths.Select((_, i) => i % 3 == 0 ? "val" : "train").ToArray();
        var features = Enumerable.Range(0, rows * dim).Select(_ => (float)(rng.NextDouble() * 20 - 10)).ToArray();
        return new FeatureTable(paths, labels, splits, features, dim);
    }

    [Fact]
    public async Task Write_and_read_round_trip_rows_sorted_by_path_in_row_groups_with_metadata()
    {
        using var dir = new TempDir();
        var table = RandomTable(2500, 5, 1);
        var meta = new FeatureStoreMetadata("mobilenetv2", "ab12", "pool", "resize=256,crop=224x224", 5)
        { DatasetItems = 2600, DatasetSha256 = "ff00", Shard = new Shard(1, 4) };
        var file = dir.File("f.parquet");
        await FeatureStore.WriteAsync(file, table, meta);

        var back = await FeatureStore.ReadAsync(file);
        Assert.Equal(2500, back.Count);
        Assert.Equal(5, back.Dimension);
        var order = Enumerable.Range(0, table.Count).OrderBy(i => table.Paths[i], StringComparer.Ordinal).ToArray();
        for (var k = 0; k < order.Length; k++)
        {
            var i = order[k];
            Assert.Equal(table.Paths[i], back.Paths[k]);
            Assert.Equal(table.Labels[i], back.Labels[k]);
            Assert.Equal(table.Splits[i], back.Splits[k]);
            Assert.Equal(table.Row(i).ToArray(), back.Row(k).ToArray());
        }

        var readMeta = await FeatureStore.ReadMetadataAsync(file);
        Assert.Null(meta.Difference(readMeta));
        Assert.Equal(meta, readMeta);
        Assert.Equal(ToolInfo.NameAndVersion, readMeta.Tool);

        var groups = new List<int>();
        await foreach (var g in FeatureStore.ReadRowGroupsAsync(file)) groups.Add(g.Count);
        Assert.Equal([1024, 1024, 452], groups);
    }

    [Fact]
    public async Task Same_rows_in_any_order_give_the_same_bytes()
    {
        using var dir = new TempDir();
        var table = RandomTable(300, 3, 2);
        var meta = new FeatureStoreMetadata("b", "s", "t", "p", 3);
        await FeatureStore.WriteAsync(dir.File("a.parquet"), table, meta);
        var rev = Enumerable.Range(0, table.Count).Reverse().ToArray();
        var shuffled = new FeatureTable(rev.Select(i => table.Paths[i]).ToArray(), rev.Select(i => table.Labels[i]).ToArray(),
            rev.Select(i => table.Splits[i]).ToArray(), rev.SelectMany(i => table.Row(i).ToArray()).ToArray(), 3);
        await FeatureStore.WriteAsync(dir.File("b.parquet"), shuffled, meta);
        Assert.Equal(File.ReadAllBytes(dir.File("a.parquet")), File.ReadAllBytes(dir.File("b.parquet")));
    }

    [Fact]
    public async Task Duplicate_ids_are_rejected()
    {
        using var dir = new TempDir();
        var t = new FeatureTable(["a", "b", "a"], ["", "", ""], ["", "", ""], new float[6], 2);
        var e = await Assert.ThrowsAsync<OnnxTransferException>(() => FeatureStore.WriteAsync(dir.File("d.parquet"), t, new FeatureStoreMetadata("b", "s", "t", "p", 2)));
        Assert.Contains("'a'", e.Message);
        Assert.False(File.Exists(dir.File("d.parquet")));
    }

    [Fact]
    public async Task Damaged_or_foreign_files_give_one_line_errors_naming_the_file()
    {
        using var dir = new TempDir();
        await FeatureStore.WriteAsync(dir.File("ok.parquet"), RandomTable(50, 4, 3), new FeatureStoreMetadata("b", "s", "t", "p", 4));
        var bytes = File.ReadAllBytes(dir.File("ok.parquet"));
        File.WriteAllBytes(dir.File("cut.parquet"), bytes[..(bytes.Length / 2)]);
        File.WriteAllText(dir.File("text.parquet"), "hello");
        foreach (var name in new[] { "cut.parquet", "text.parquet", "missing.parquet" })
        {
            var e = await Assert.ThrowsAsync<OnnxTransferException>(() => FeatureStore.ReadAsync(dir.File(name)));
            Assert.Contains(name, e.Message);
            Assert.DoesNotContain('\n', e.Message);
        }
    }
}
