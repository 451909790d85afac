using System.Buffers.Binary;
using System.Text;
using OnnxTransfer.Features;
using OnnxTransfer.Tests.Features;
using OnnxTransfer.Tests.Training;
using OnnxTransfer.Training.Engine;
using OnnxTransfer.Training.Heads;

namespace OnnxTransfer.Tests.Hardening;

/// <summary>
/// Damaged feature stores and checkpoints are refused with one line naming the file, never trained on or resumed:
/// flipped bytes anywhere, truncation, appended bytes; damaged resume chunks are re-extracted.
/// </summary>
public class StoreIntegrityTests
{
    private static FeatureTable Table(int rows = 3, int dim = 3)
    {
        var features = Enumerable.Range(0, rows * dim).Select(i => i * 0.5f - 1).ToArray();
        return new FeatureTable(Enumerable.Range(0, rows).Select(i => $"c{i % 2}/x{i}.png").ToArray(),
            Enumerable.Range(0, rows).Select(i => $"c{i % 2}").ToArray(), Enumerable.Range(0, rows).Select(_ => "train").ToArray(), features, dim);
    }

    private static string Store(TempDir dir, string name = "f.parquet", int rows = 3)
    {
        var path = dir.File(name);
        FeatureStore.WriteAsync(path, Table(rows), FeatureTestKit.Description() with { Dimension = 3 }).GetAwaiter().GetResult();
        return path;
    }

    private static void Flip(string path, long offset)
    {
        var bytes = File.ReadAllBytes(path);
        bytes[offset] ^= 0x01;
        File.WriteAllBytes(path, bytes);
    }

    private static long FooterStart(string path)
    {
        var bytes = File.ReadAllBytes(path);
        return bytes.Length - 8 - BinaryPrimitives.ReadInt32LittleEndian(bytes.AsSpan(bytes.Length - 8));
    }

    private static void AssertRefused(string path, Action read)
    {
        var e = Assert.ThrowsAny<OnnxTransferException>(read);
        Assert.Contains(path, e.Message);
        Assert.DoesNotContain('\n', e.Message);
    }

    private static async Task AssertRefusedAsync(string path, Func<Task> read)
    {
        var e = await Assert.ThrowsAnyAsync<OnnxTransferException>(read);
        Assert.Contains(path, e.Message);
        Assert.DoesNotContain('\n', e.Message);
    }

    public static TheoryData<string> Damages => new()
    {
        "flip in a feature value", "flip in the path column", "flip in a metadata value", "truncated", "bytes appended", "footer length changed",
    };

    [Theory]
    [MemberData(nameof(Damages))]
    public async Task A_damaged_store_is_refused_naming_the_file(string damage)
    {
        using var dir = new TempDir();
        var path = Store(dir, rows: 40);
        var bytes = File.ReadAllBytes(path);
        var footer = FooterStart(path);
        switch (damage)
        {
            case "flip in a feature value": Flip(path, footer - 40); break;
            case "flip in the path column": Flip(path, 40); break;
            case "flip in a metadata value": Flip(path, IndexOf(bytes, "numbers")); break;
            case "truncated": File.WriteAllBytes(path, bytes[..(bytes.Length * 2 / 3)]); break;
            case "bytes appended": File.WriteAllBytes(path, [.. bytes, 1, 2, 3]); break;
            case "footer length changed": Flip(path, bytes.Length - 8); break;
        }
        await AssertRefusedAsync(path, () => FeatureStore.ReadAsync(path));
    }

    [Fact]
    public async Task A_streamed_read_refuses_a_damaged_store_before_the_first_row()
    {
        using var dir = new TempDir();
        var path = Store(dir, rows: 40);
        Flip(path, FooterStart(path) - 40);
        var e = await Assert.ThrowsAsync<OnnxTransferException>(async () => { await foreach (var _ in FeatureStore.ReadRowGroupsAsync(path)) { } });
        Assert.Contains("checksum", e.Message);
    }

    [Fact]
    public async Task Every_single_byte_flip_is_refused_or_changes_nothing_read()
    {
        using var dir = new TempDir();
        var path = Store(dir);
        var original = File.ReadAllBytes(path);
        var expected = await FeatureStore.ReadAsync(path);
        var refused = 0;
        for (var i = 0; i < original.Length; i++)
        {
            var damaged = (byte[])original.Clone();
            damaged[i] ^= 0x10;
            File.WriteAllBytes(path, damaged);
            try
            {
                // A damaged footer once sent the Parquet reader into an endless loop: a hang fails, it does not stall the suite.
                var read = Task.Run(() => FeatureStore.ReadAsync(path));
                Assert.True(read.Wait(TimeSpan.FromSeconds(10)), $"reading with a flip at byte {i} hangs");
                var table = read.Result;
                Assert.True(table.Paths.SequenceEqual(expected.Paths) && table.Labels.SequenceEqual(expected.Labels)
                    && table.Splits.SequenceEqual(expected.Splits) && table.Features.SequenceEqual(expected.Features),
                    $"a flip at byte {i} of {original.Length} (footer at {FooterStart(path)}) was read as different data: {string.Join(",", table.Paths)} {string.Join(",", table.Labels)} {string.Join(",", table.Splits)} {string.Join(",", table.Features)} vs {string.Join(",", expected.Paths)} {string.Join(",", expected.Labels)} {string.Join(",", expected.Splits)} {string.Join(",", expected.Features)}");
            }
            catch (AggregateException a) when (a.InnerException is OnnxTransferException e)
            {
                Assert.Contains(path, e.Message);
                refused++;
            }
        }
        // The digest covers every byte; only a flip inside its key's name makes the file read as one from before
        // digests, whose data is then unchanged.
        Assert.Equal(original.Length - FeatureParquet.DigestKey.Length, refused);
    }

    [Fact]
    public async Task A_damaged_resume_chunk_is_re_extracted_and_the_result_is_unchanged()
    {
        using var dir = new TempDir();
        var items = FeatureTestKit.Dataset(dir.File("data"), 24);
        var output = dir.File("out.parquet");
        using var session = FeatureTestKit.Session();
        using var cts = new CancellationTokenSource();
        var options = new FeatureExtractionOptions { BatchSize = 4, Threads = 1, CheckpointRows = 8 };
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => new FeatureExtractor(session, new NumberEncoder(), FeatureTestKit.Description())
            .RunAsync(items, output, options, new InlineProgress(u => { if (u.Done >= 16) cts.Cancel(); }), cts.Token));
        var chunk = Directory.GetFiles(FeatureStore.PartialPath(output), "chunk-*.parquet").Order().First();
        Flip(chunk, FooterStart(chunk) - 10);

        await new FeatureExtractor(session, new NumberEncoder(), FeatureTestKit.Description()).RunAsync(items, output, options);
        await new FeatureExtractor(session, new NumberEncoder(), FeatureTestKit.Description()).RunAsync(items, dir.File("full.parquet"), options);
        Assert.Equal(File.ReadAllBytes(dir.File("full.parquet")), File.ReadAllBytes(output));
    }

    [Fact]
    public async Task A_damaged_existing_output_is_refused_on_resume()
    {
        using var dir = new TempDir();
        var items = FeatureTestKit.Dataset(dir.File("data"), 10);
        var output = dir.File("out.parquet");
        using var session = FeatureTestKit.Session();
        await new FeatureExtractor(session, new NumberEncoder(), FeatureTestKit.Description()).RunAsync(items, output);
        Flip(output, FooterStart(output) - 10);
        var e = await Assert.ThrowsAnyAsync<OnnxTransferException>(() =>
            new FeatureExtractor(session, new NumberEncoder(), FeatureTestKit.Description()).RunAsync(items, output));
        Assert.Contains(output, e.Message);
    }

    [Fact]
    public async Task A_damaged_shard_part_is_refused_by_merge()
    {
        using var dir = new TempDir();
        var items = FeatureTestKit.Dataset(dir.File("data"), 12);
        using var session = FeatureTestKit.Session();
        var parts = new List<string>();
        for (var i = 0; i < 2; i++)
            parts.Add((await new FeatureExtractor(session, new NumberEncoder(), FeatureTestKit.Description())
                .RunAsync(items, dir.File("f.parquet"), new FeatureExtractionOptions { Shard = new OnnxTransfer.Data.Shard(i, 2) })).Output);
        Flip(parts[1], FooterStart(parts[1]) - 10);
        await AssertRefusedAsync(parts[1], () => FeatureStore.MergeAsync(parts, dir.File("merged.parquet")));
        Assert.False(File.Exists(dir.File("merged.parquet")));
    }

    [Fact]
    public async Task Cli_train_on_a_damaged_store_exits_1_with_one_line_and_writes_no_head()
    {
        using var dir = new TempDir();
        var path = Store(dir, rows: 40);
        Flip(path, FooterStart(path) - 40);
        var (code, _, error) = await ChildProcess.CliAsync(60, "train", "--features", path, "--out", dir.File("head"), "--epochs", "1");
        Assert.Equal(1, code);
        Assert.Contains(path, error);
        Assert.Contains("checksum", error);
        Assert.DoesNotContain("   at ", error);
        Assert.False(Directory.Exists(dir.File("head")));
    }

    public static TheoryData<string> CheckpointDamages => new() { "flipped byte", "digest cut off", "bytes appended", "flipped digest" };

    [Theory]
    [MemberData(nameof(CheckpointDamages))]
    public void A_damaged_training_checkpoint_is_refused(string damage)
    {
        using var dir = new TempDir();
        Trainer.Fit(SyntheticData.Blobs(10, 2, 3, 3, 3), null, new TrainingOptions { Epochs = 1 }, dir.Path);
        var ck = dir.File(Trainer.CheckpointFile);
        var bytes = File.ReadAllBytes(ck);
        switch (damage)
        {
            case "flipped byte": Flip(ck, bytes.Length / 2); break;
            case "digest cut off": File.WriteAllBytes(ck, bytes[..^32]); break;
            case "bytes appended": File.WriteAllBytes(ck, [.. bytes, 0]); break;
            case "flipped digest": Flip(ck, bytes.Length - 1); break;
        }
        AssertRefused(ck, () => TrainingCheckpoint.Load(ck));
        AssertRefused(ck, () => Trainer.Resume(dir.Path, SyntheticData.Blobs(10, 2, 3, 3, 3), null));
    }

    [Fact]
    public void A_damaged_fine_tuning_checkpoint_is_refused()
    {
        using var dir = new TempDir();
        var path = dir.File("ft.ckpt");
        new TrainingCheckpoint { GroupSteps = [3], Fingerprint = new Dictionary<string, string> { ["options"] = "abc" }, RandomState = [1, 2, 3, 4], Parameters = { ["w"] = [1f, 2f, 3f] } }.Save(path);
        Assert.Equal([1f, 2f, 3f], TrainingCheckpoint.Load(path).Parameters["w"]);
        Assert.Equal([3L], TrainingCheckpoint.Load(path).GroupSteps);
        Flip(path, File.ReadAllBytes(path).Length - 40);
        AssertRefused(path, () => TrainingCheckpoint.Load(path));
    }

    [Fact]
    public void A_checkpoint_from_before_digests_still_loads()
    {
        using var dir = new TempDir();
        var path = dir.File("old.bin");
        var state = new TrainingCheckpoint { Epoch = 2, RandomState = [1, 2, 3, 4], Parameters = { ["w"] = [0.5f] } };
        using (var w = new BinaryWriter(File.Create(path), Encoding.UTF8))
        {
            w.Write("OTCKPT01"u8);
            state.Write(w);
        }
        var loaded = TrainingCheckpoint.Load(path);
        Assert.Equal((2, 0.5f), (loaded.Epoch, loaded.Parameters["w"][0]));
    }

    [Theory]
    [InlineData("OTCKPT02", false)]
    [InlineData("OTFTCK02", true)]
    public void Checkpoints_of_the_earlier_head_and_fine_tuning_formats_still_load(string magic, bool grouped)
    {
        using var dir = new TempDir();
        var path = dir.File("old.bin");
        var state = new TrainingCheckpoint { Epoch = 3, Step = 12, RandomState = [1, 2, 3, 4], Parameters = { ["w"] = [0.25f] } };
        using (var file = File.Create(path))
            FileDigest.WriteWithTrailer(file, body =>
            {
                using var w = new BinaryWriter(body, Encoding.UTF8, leaveOpen: true);
                w.Write(Encoding.ASCII.GetBytes(magic));
                if (grouped) { w.Write(1); w.Write("options"); w.Write("h1"); w.Write(2); w.Write(12L); w.Write(5L); }
                state.Write(w);
            });
        var loaded = TrainingCheckpoint.Load(path);
        Assert.Equal((3, 12L, 0.25f), (loaded.Epoch, loaded.Step, loaded.Parameters["w"][0]));
        Assert.Equal(grouped ? [12L, 5L] : null, loaded.GroupSteps);
        Assert.Equal(grouped ? "h1" : null, loaded.Fingerprint.GetValueOrDefault("options"));
    }

    private static long IndexOf(byte[] haystack, string needle) => haystack.AsSpan().IndexOf(Encoding.UTF8.GetBytes(needle));

    private sealed class InlineProgress(Action<ProgressUpdate> report) : IProgress<ProgressUpdate>
    {
        public void Report(ProgressUpdate value) => report(value);
    }
}
