using OnnxTransfer.Data;
using OnnxTransfer.Features;

namespace OnnxTransfer.Tests.Features;

public class MergeTests
{
    private static async Task<string[]> ExtractShards(IReadOnlyList<DatasetItem> items, string output, int n, string preprocessing = "numbers")
    {
        using var session = FeatureTestKit.Session();
        var parts = new string[n];
        for (var i = 0; i < n; i++)
        {
            var extractor = new FeatureExtractor(session, new NumberEncoder(), FeatureTestKit.Description(preprocessing));
            var summary = await extractor.RunAsync(items, output, new FeatureExtractionOptions { BatchSize = 3, Threads = 2, Shard = new Shard(i, n) });
            parts[i] = summary.Output;
        }
        return parts;
    }

    private static async Task ExtractSingle(IReadOnlyList<DatasetItem> items, string output)
    {
        using var session = FeatureTestKit.Session();
        await new FeatureExtractor(session, new NumberEncoder(), FeatureTestKit.Description())
            .RunAsync(items, output, new FeatureExtractionOptions { BatchSize = 5, Threads = 1 });
    }

    [Fact]
    public async Task Merged_shards_equal_a_single_run_byte_for_byte()
    {
        using var dir = new TempDir();
        var items = FeatureTestKit.Dataset(dir.File("data"), 45, 4);
        await ExtractSingle(items, dir.File("single.parquet"));
        var parts = await ExtractShards(items, dir.File("sharded.parquet"), 3);
        Assert.Equal(dir.File("sharded.part-1-of-3.parquet"), parts[1]);
        Assert.Equal(new Shard(1, 3), (await FeatureStore.ReadMetadataAsync(parts[1])).Shard);
        var rows = 0;
        foreach (var p in parts) rows += (await FeatureStore.ReadAsync(p)).Count;
        Assert.Equal(44, rows);

        var summary = await FeatureStore.MergeAsync(parts.Reverse().ToArray(), dir.File("merged.parquet"));
        Assert.Equal((3, 44L), (summary.Parts, summary.Rows));
        Assert.Equal(FeatureTestKit.Bytes(dir.File("single.parquet")), FeatureTestKit.Bytes(dir.File("merged.parquet")));
    }

    [Fact]
    public async Task Missing_doubled_or_mismatched_parts_are_clear_errors()
    {
        using var dir = new TempDir();
        var items = FeatureTestKit.Dataset(dir.File("data"), 30);
        var parts = await ExtractShards(items, dir.File("f.parquet"), 3);
        var output = dir.File("merged.parquet");

        var missing = await Assert.ThrowsAsync<OnnxTransferException>(() => FeatureStore.MergeAsync([parts[0], parts[2]], output));
        Assert.Contains("1 of 3 parts missing", missing.Message);
        Assert.Contains("merged.part-1-of-3.parquet", missing.Message);

        File.Copy(parts[1], dir.File("copy.parquet"));
        var doubled = await Assert.ThrowsAsync<OnnxTransferException>(() => FeatureStore.MergeAsync([.. parts, dir.File("copy.parquet")], output));
        Assert.Contains("given twice", doubled.Message);
        Assert.Contains("copy.parquet", doubled.Message);

        var other = await ExtractShards(items, dir.File("other.parquet"), 3, preprocessing: "other");
        var mismatch = await Assert.ThrowsAsync<OnnxTransferException>(() => FeatureStore.MergeAsync([parts[0], parts[1], other[2]], output));
        Assert.Contains("preprocessing", mismatch.Message);

        var fourths = await ExtractShards(items, dir.File("four.parquet"), 4);
        Assert.Contains("same N", (await Assert.ThrowsAsync<OnnxTransferException>(() => FeatureStore.MergeAsync([.. parts, fourths[3]], output))).Message);

        // A part whose rows overlap another's (relabelled as another shard) is caught by id.
        var t = await FeatureStore.ReadAsync(parts[0]);
        var relabelled = await FeatureStore.ReadMetadataAsync(parts[1]);
        await FeatureStore.WriteAsync(dir.File("fake1.parquet"), t, relabelled);
        var overlap = await Assert.ThrowsAsync<OnnxTransferException>(() => FeatureStore.MergeAsync([parts[0], dir.File("fake1.parquet"), parts[2]], output));
        Assert.Contains("fake1.parquet", overlap.Message);
        Assert.False(File.Exists(output));
    }

    [Fact]
    public async Task Cli_merge_writes_the_file_and_reports_errors_with_exit_code_1()
    {
        using var dir = new TempDir();
        var items = FeatureTestKit.Dataset(dir.File("data"), 12);
        var parts = await ExtractShards(items, dir.File("f.parquet"), 2);
        Assert.Equal(0, OnnxTransfer.Cli.CliApp.Run(["merge", .. parts, "--out", dir.File("m.parquet")]));
        Assert.Equal(12, (await FeatureStore.ReadAsync(dir.File("m.parquet"))).Count);
        Assert.Equal(1, OnnxTransfer.Cli.CliApp.Run(["merge", parts[0], "--out", dir.File("m2.parquet")]));
        Assert.False(File.Exists(dir.File("m2.parquet")));
    }
}
