using OnnxTransfer.Data;
using OnnxTransfer.Features;

namespace OnnxTransfer.Tests.Features;

public class FeatureExtractorTests
{
    private static FeatureExtractionOptions Options(int batch = 4, int threads = 2) =>
        new() { BatchSize = batch, Threads = threads, CheckpointRows = 8 };

    private static async Task<FeatureExtractionSummary> Extract(IReadOnlyList<DatasetItem> items, string output,
        FeatureExtractionOptions options, NumberEncoder? encoder = null, CancellationToken ct = default, string preprocessing = "numbers",
        int concurrentBatches = 1)
    {
        using var session = FeatureTestKit.Session();
        var extractor = new FeatureExtractor(session, encoder ?? new NumberEncoder(), FeatureTestKit.Description(preprocessing), null, concurrentBatches);
        return await extractor.RunAsync(items, output, options, null, ct);
    }

    [Fact]
    public async Task Extracts_model_features_for_good_items_and_logs_bad_ones()
    {
        using var dir = new TempDir();
        var items = FeatureTestKit.Dataset(dir.File("data"), 37, 5, 20);
        var progress = new List<ProgressUpdate>();
        using var session = FeatureTestKit.Session();
        var summary = await new FeatureExtractor(session, new NumberEncoder(), FeatureTestKit.Description())
            .RunAsync(items, dir.File("f.parquet"), Options(), new SynchronousProgress(progress.Add));

        Assert.Equal((37, 35, 0, 2), (summary.Items, summary.Written, summary.Skipped, summary.Errors));
        var table = await FeatureStore.ReadAsync(dir.File("f.parquet"));
        Assert.Equal(3, table.Dimension);
        var good = items.Where(i => File.ReadAllText(i.Path) != "bad").OrderBy(i => i.Id, StringComparer.Ordinal).ToArray();
        Assert.Equal(good.Select(i => i.Id), table.Paths);
        Assert.Equal(good.Select(i => i.Label), table.Labels);
        Assert.Equal(good.Select(i => i.Split), table.Splits);
        for (var k = 0; k < good.Length; k++)
        {
            var expected = FeatureTestKit.ExpectedFeatures(good[k].Path);
            var actual = table.Row(k).ToArray();
            for (var c = 0; c < 3; c++) Assert.Equal(expected[c], actual[c], 1e-4f);
        }

        var meta = await FeatureStore.ReadMetadataAsync(dir.File("f.parquet"));
        Assert.Equal(("tiny", "features", 3, 37L), (meta.Backbone, meta.FeatureTensor, meta.Dimension, meta.DatasetItems));
        Assert.Equal(FeatureStoreMetadata.DatasetFingerprint(items.Select(i => i.Id)), meta.DatasetSha256);
        Assert.Null(meta.Shard);

        var errors = ErrorLog.Read(summary.ErrorsFile);
        Assert.Equal(["c2/item0005.txt", "c2/item0020.txt"], errors.Select(e => e.Id).Order());
        Assert.All(errors, e => Assert.Contains("not a number", e.Reason));
        Assert.False(Directory.Exists(FeatureStore.PartialPath(dir.File("f.parquet"))));
        var extract = progress.Where(p => p.Stage == "extract").ToArray();
        Assert.Equal(37, extract[^1].Done);
        Assert.Equal(37, extract[^1].Total);
        Assert.Contains(progress, p => p.Stage == "write" && p.Done == 35);
    }

    [Fact]
    public async Task Output_does_not_depend_on_threads_or_batch_size()
    {
        using var dir = new TempDir();
        var items = FeatureTestKit.Dataset(dir.File("data"), 30, 3);
        await Extract(items, dir.File("a.parquet"), Options(batch: 1, threads: 1));
        await Extract(items, dir.File("b.parquet"), Options(batch: 7, threads: 3));
        Assert.Equal(FeatureTestKit.Bytes(dir.File("a.parquet")), FeatureTestKit.Bytes(dir.File("b.parquet")));
    }

    [Fact]
    public async Task Batches_run_at_once_give_the_same_file_and_features_as_one_at_a_time()
    {
        using var dir = new TempDir();
        var items = FeatureTestKit.Dataset(dir.File("data"), 45, 7, 13);
        var one = await Extract(items, dir.File("a.parquet"), Options(batch: 4, threads: 2));
        var three = await Extract(items, dir.File("b.parquet"), Options(batch: 4, threads: 2), concurrentBatches: 3);
        Assert.Equal((43, 2), (three.Written, three.Errors));
        Assert.Equal((one.Written, one.Errors), (three.Written, three.Errors));
        Assert.Equal(FeatureTestKit.Bytes(dir.File("a.parquet")), FeatureTestKit.Bytes(dir.File("b.parquet")));
        var table = await FeatureStore.ReadAsync(dir.File("b.parquet"));
        for (var k = 0; k < table.Count; k++)
        {
            var expected = FeatureTestKit.ExpectedFeatures(items.Single(i => i.Id == table.Paths[k]).Path);
            for (var c = 0; c < 3; c++) Assert.Equal(expected[c], table.Row(k)[c], 1e-4f);
        }
    }

    [Fact]
    public async Task Cancelled_run_with_batches_at_once_resumes_to_the_same_file()
    {
        using var dir = new TempDir();
        var items = FeatureTestKit.Dataset(dir.File("data"), 60, 11);
        await Extract(items, dir.File("full.parquet"), Options());
        using var cts = new CancellationTokenSource();
        var cancelling = new NumberEncoder(item => { if (item.Id.EndsWith("0031.txt", StringComparison.Ordinal)) cts.Cancel(); });
        var output = dir.File("resumed.parquet");
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => Extract(items, output, Options(), cancelling, cts.Token, concurrentBatches: 3));
        Assert.False(File.Exists(output));
        var resumed = await Extract(items, output, Options(), concurrentBatches: 3);
        Assert.True(resumed.Skipped > 0);
        Assert.Equal(FeatureTestKit.Bytes(dir.File("full.parquet")), FeatureTestKit.Bytes(output));
    }

    [Fact]
    public async Task Cancelled_run_resumes_to_the_same_file_as_an_uninterrupted_run()
    {
        using var dir = new TempDir();
        var items = FeatureTestKit.Dataset(dir.File("data"), 60, 11);
        await Extract(items, dir.File("full.parquet"), Options());

        using var cts = new CancellationTokenSource();
        var encoder = new NumberEncoder(_ => { });
        var cancelling = new NumberEncoder(item => { if (item.Id.EndsWith("0025.txt", StringComparison.Ordinal)) cts.Cancel(); });
        var output = dir.File("resumed.parquet");
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => Extract(items, output, Options(), cancelling, cts.Token));
        Assert.False(File.Exists(output));
        var partial = FeatureStore.PartialPath(output);
        Assert.True(Directory.EnumerateFiles(partial, "chunk-*.parquet").Any());

        var second = new NumberEncoder();
        var summary = await Extract(items, output, Options(), second);
        Assert.True(summary.Skipped > 0, "the first run's rows are kept");
        Assert.Equal(59, summary.Skipped + summary.Written);
        Assert.Equal(60 - summary.Skipped, second.Encoded);  // only the rest (and the bad item) are decoded again
        Assert.Equal(FeatureTestKit.Bytes(dir.File("full.parquet")), FeatureTestKit.Bytes(output));
        Assert.False(Directory.Exists(partial));
    }

    [Fact]
    public async Task Partial_left_by_a_killed_process_resumes_exactly()
    {
        using var dir = new TempDir();
        var items = FeatureTestKit.Dataset(dir.File("data"), 50);
        await Extract(items, dir.File("full.parquet"), Options());

        using var cts = new CancellationTokenSource();
        var output = dir.File("killed.parquet");
        var cancelling = new NumberEncoder(item => { if (item.Id.EndsWith("0040.txt", StringComparison.Ordinal)) cts.Cancel(); });
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => Extract(items, output, Options(), cancelling, cts.Token));
        // What a kill can leave beyond complete chunks: a half-written temp file (and, with outside damage, a cut chunk).
        var partial = FeatureStore.PartialPath(output);
        var chunks = Directory.GetFiles(partial, "chunk-*.parquet").Order().ToArray();
        Assert.True(chunks.Length >= 2);
        var bytes = File.ReadAllBytes(chunks[1]);
        File.WriteAllBytes(chunks[1], bytes[..(bytes.Length / 2)]);
        File.WriteAllBytes(Path.Combine(partial, ".chunk-000099.parquet.123.abc.tmp"), bytes[..100]);

        await Extract(items, output, Options());
        Assert.Equal(FeatureTestKit.Bytes(dir.File("full.parquet")), FeatureTestKit.Bytes(output));
    }

    [Fact]
    public async Task Resuming_with_other_settings_is_an_error_that_names_the_fix()
    {
        using var dir = new TempDir();
        var items = FeatureTestKit.Dataset(dir.File("data"), 30);
        using var cts = new CancellationTokenSource();
        var output = dir.File("f.parquet");
        var cancelling = new NumberEncoder(item => { if (item.Id.EndsWith("0020.txt", StringComparison.Ordinal)) cts.Cancel(); });
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => Extract(items, output, Options(), cancelling, cts.Token));

        var e = await Assert.ThrowsAsync<OnnxTransferException>(() => Extract(items, output, Options(), preprocessing: "other"));
        Assert.Contains("preprocessing", e.Message);
        Assert.Contains(".partial", e.Message);
        Assert.Contains("--out", e.Message);

        // Overwrite discards the partial and starts over.
        var summary = await Extract(items, output, Options() with { Overwrite = true }, preprocessing: "other");
        Assert.Equal((30, 0), (summary.Written, summary.Skipped));
        Assert.Equal("other", (await FeatureStore.ReadMetadataAsync(output)).Preprocessing);
    }

    [Fact]
    public async Task Too_many_errors_stop_the_run_keep_its_work_and_a_rerun_resumes()
    {
        using var dir = new TempDir();
        var items = FeatureTestKit.Dataset(dir.File("data"), 40, 2, 9, 17, 30);
        var output = dir.File("f.parquet");
        var e = await Assert.ThrowsAsync<TooManyErrorsException>(() => Extract(items, output, Options(threads: 1) with { MaxErrors = 2 }));
        Assert.Contains("--max-errors 2", e.Message);
        Assert.False(File.Exists(output));
        var errorsFile = dir.File("f.errors.csv");
        Assert.Equal(3, ErrorLog.Read(errorsFile).Count);
        Assert.True(Directory.EnumerateFiles(FeatureStore.PartialPath(output), "chunk-*.parquet").Any());

        var summary = await Extract(items, output, Options() with { MaxErrors = 4 });
        Assert.Equal(4, summary.Errors);
        Assert.True(summary.Skipped > 0);
        Assert.Equal(36, summary.Skipped + summary.Written);
        Assert.Equal(4, ErrorLog.Read(errorsFile).Count);
        Assert.Equal(36, (await FeatureStore.ReadAsync(output)).Count);
    }

    [Fact]
    public async Task Rerunning_a_finished_extraction_changes_nothing()
    {
        using var dir = new TempDir();
        var items = FeatureTestKit.Dataset(dir.File("data"), 20);
        var output = dir.File("f.parquet");
        await Extract(items, output, Options());
        var before = FeatureTestKit.Bytes(output);
        var encoder = new NumberEncoder();
        var summary = await Extract(items, output, Options(), encoder);
        Assert.Equal((0, 20, 0), (summary.Written, summary.Skipped, encoder.Encoded));
        Assert.Equal(before, FeatureTestKit.Bytes(output));
    }

    [Fact]
    public async Task Rerun_after_fixing_bad_files_adds_only_them_to_the_finished_store()
    {
        using var dir = new TempDir();
        var items = FeatureTestKit.Dataset(dir.File("data"), 25, 6, 13);
        var output = dir.File("f.parquet");
        Assert.Equal(2, (await Extract(items, output, Options())).Errors);
        foreach (var bad in items.Where(i => File.ReadAllText(i.Path) == "bad")) File.WriteAllText(bad.Path, "1.5");

        var encoder = new NumberEncoder();
        var summary = await Extract(items, output, Options(), encoder);
        Assert.Equal((2, 23, 0, 2), (summary.Written, summary.Skipped, summary.Errors, encoder.Encoded));
        await Extract(items, dir.File("fresh.parquet"), Options());
        Assert.Equal(FeatureTestKit.Bytes(dir.File("fresh.parquet")), FeatureTestKit.Bytes(output));
    }

    [Fact]
    public async Task Fixed_batch_models_get_padded_batches_and_the_same_result()
    {
        using var dir = new TempDir();
        var items = FeatureTestKit.Dataset(dir.File("data"), 7);
        await Extract(items, dir.File("dynamic.parquet"), Options());
        using var fixedSession = FeatureTestKit.Session(batch: 2);
        var summary = await new FeatureExtractor(fixedSession, new NumberEncoder(), FeatureTestKit.Description())
            .RunAsync(items, dir.File("fixed.parquet"), Options(batch: 5));
        Assert.Equal(7, summary.Written);
        Assert.Equal(FeatureTestKit.Bytes(dir.File("dynamic.parquet")), FeatureTestKit.Bytes(dir.File("fixed.parquet")));
    }

    [Fact]
    public async Task Encoder_shape_that_does_not_fit_the_model_is_a_clear_error()
    {
        using var dir = new TempDir();
        var items = FeatureTestKit.Dataset(dir.File("data"), 3);
        using var session = FeatureTestKit.Session(side: 8);
        var e = await Assert.ThrowsAsync<OnnxTransferException>(() =>
            new FeatureExtractor(session, new NumberEncoder(), FeatureTestKit.Description()).RunAsync(items, dir.File("f.parquet"), Options()));
        Assert.Contains("[?,3,8,8]", e.Message);
        Assert.Contains("[N,3,4,4]", e.Message);
        Assert.False(File.Exists(dir.File("f.parquet")));
    }

    private sealed class SynchronousProgress(Action<ProgressUpdate> report) : IProgress<ProgressUpdate>
    {
        private readonly object _gate = new();
        public void Report(ProgressUpdate value) { lock (_gate) report(value); }
    }
}
