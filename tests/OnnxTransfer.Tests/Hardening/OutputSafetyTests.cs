using OnnxTransfer.Evaluation;
using OnnxTransfer.Features;
using OnnxTransfer.Tests.Features;
using OnnxTransfer.Tests.Training;
using static OnnxTransfer.Tests.Hardening.OutputSafetyKit;
using OnnxTransfer.Training.Engine;
using OnnxTransfer.Training.Heads;

namespace OnnxTransfer.Tests.Hardening;

/// <summary>
/// No result lost: outputs equal to inputs are refused before work, head folders and stores are replaced only
/// when complete (divergence, full disk, cancellation leave the previous one byte-identical and no litter),
/// and two runs on one output are kept apart by a lock.
/// </summary>
public class OutputSafetyTests
{
    private static readonly TrainingOptions Quick = new() { Epochs = 3, BatchSize = 8, Threads = 1, Optimizer = new OptimizerSettings { Kind = OptimizerKind.AdamW } };

    private static string Head(TempDir dir, string name = "head")
    {
        var head = dir.File(name);
        Trainer.Fit(SyntheticData.Blobs(10, 2, 3, separation: 3, seed: 3), null, Quick, head);
        return head;
    }

    private static async Task<string> Store(TempDir dir, string name = "f.parquet")
    {
        var items = FeatureTestKit.Dataset(dir.File("data"), 12);
        using var session = FeatureTestKit.Session();
        var output = dir.File(name);
        await new FeatureExtractor(session, new NumberEncoder(), FeatureTestKit.Description()).RunAsync(items, output, new() { BatchSize = 4, Threads = 1 });
        return output;
    }

    // ---- outputs that are inputs, refused before any work ----

    public static TheoryData<string> SameFileCases() => new()
    {
        "extract --errors equal to --out",
        "extract --errors as a symlink to --out",
        "extract --errors equal to the --data manifest",
        "extract --out equal to --data manifest",
        "export --out equal to --backbone",
        "export --out equal to the head's eval.onnx",
        "cut --out equal to MODEL",
        "cut --out as a symlink to MODEL",
        "cut --out via a symlinked folder to MODEL",
        "dequantize --out equal to MODEL",
        "fit --out equal to --data manifest",
        "evaluate --report json equal to --features",
        "train --out folder holding --features",
    };

    [Theory]
    [MemberData(nameof(SameFileCases))]
    public void Output_that_is_an_input_is_refused_and_the_input_is_unchanged(string kind)
    {
        using var dir = new TempDir();
        var model = dir.File("model.onnx");
        File.WriteAllBytes(model, FeatureTestKit.TinyBackbone());
        var store = dir.File("f.parquet");
        File.WriteAllBytes(store, [1, 2, 3, 4]);
        var csv = dir.File("data.csv");
        File.WriteAllText(csv, "path,label\n");
        var head = Directory.CreateDirectory(dir.File("head")).FullName;
        File.WriteAllBytes(Path.Combine(head, Trainer.EvalGraphFile), [5, 6]);
        var link = dir.File("link.onnx");
        File.CreateSymbolicLink(link, model);
        File.CreateSymbolicLink(dir.File("storelink.parquet"), store);
        Directory.CreateDirectory(dir.File("real"));
        Directory.CreateSymbolicLink(dir.File("alias"), dir.File("real"));
        var inReal = Path.Combine(dir.File("real"), "m.onnx");
        File.WriteAllBytes(inReal, FeatureTestKit.TinyBackbone());
        var features = Path.Combine(head, "f.parquet");
        File.WriteAllBytes(features, [9]);
        var before = Fingerprint(dir.Path);

        var run = kind switch
        {
            "extract --errors equal to --out" => RunCli("extract", "-b", model, "-d", csv, "-o", store, "--errors", store),
            "extract --errors as a symlink to --out" => RunCli("extract", "-b", model, "-d", csv, "-o", store, "--errors", dir.File("storelink.parquet")),
            "extract --errors equal to the --data manifest" => RunCli("extract", "-b", model, "-d", csv, "-o", dir.File("new.parquet"), "--errors", csv),
            "extract --out equal to --data manifest" => RunCli("extract", "-b", model, "-d", csv, "-o", csv),
            "export --out equal to --backbone" => RunCli("export", "-b", model, "--head", head, "-o", model),
            "export --out equal to the head's eval.onnx" => RunCli("export", "-b", model, "--head", head, "-o", Path.Combine(head, Trainer.EvalGraphFile)),
            "cut --out equal to MODEL" => RunCli("cut", model, "-o", model),
            "cut --out as a symlink to MODEL" => RunCli("cut", model, "-o", link),
            "cut --out via a symlinked folder to MODEL" => RunCli("cut", inReal, "-o", Path.Combine(dir.File("alias"), "m.onnx")),
            "dequantize --out equal to MODEL" => RunCli("dequantize", model, "-o", model),
            "fit --out equal to --data manifest" => RunCli("fit", "-b", model, "-d", csv, "-o", csv),
            "evaluate --report json equal to --features" => RunCli("evaluate", "-f", Path.ChangeExtension(store, ".json"), "--head", head, "--report", Path.ChangeExtension(store, ".json")),
            "train --out folder holding --features" => RunCli("train", "-f", features, "-o", head),
            _ => throw new ArgumentOutOfRangeException(nameof(kind)),
        };

        if (kind.StartsWith("evaluate", StringComparison.Ordinal)) AssertRefused(run, "--report");
        else AssertRefused(run, "--");
        Assert.Equal(before, Fingerprint(dir.Path));
    }

    [Fact]
    public async Task Library_extraction_refuses_an_errors_file_equal_to_the_store()
    {
        using var dir = new TempDir();
        var store = await Store(dir);
        var before = Fingerprint(store);
        using var session = FeatureTestKit.Session();
        var e = await Assert.ThrowsAsync<OnnxTransferException>(() => new FeatureExtractor(session, new NumberEncoder(), FeatureTestKit.Description())
            .RunAsync(FeatureTestKit.Dataset(dir.File("data"), 12), store, new() { ErrorsPath = store, Overwrite = true }));
        AssertOneLine(e, "--errors", "--out");
        Assert.Equal(before, Fingerprint(store));
    }

    // ---- report targets ----

    private static EvaluationReport Report() => EvaluationReport.From(ClassificationMetrics.Compute([0, 1], [0.9f, 0.1f, 0.2f, 0.8f], ["a", "b"]));

    [Fact]
    public void Report_folder_that_is_an_existing_file_is_refused_not_a_crash()
    {
        using var dir = new TempDir();
        File.WriteAllText(dir.File("notes.txt"), "mine");
        var e = Assert.Throws<OnnxTransferException>(() => Report().Write(dir.File("notes.txt"), renderPlots: false));
        AssertOneLine(e, "notes.txt", "not a report folder");
        Assert.Equal("mine", File.ReadAllText(dir.File("notes.txt")));
    }

    [Fact]
    public void Report_json_that_is_an_existing_other_json_is_not_overwritten()
    {
        using var dir = new TempDir();
        File.WriteAllText(dir.File("config.json"), "{\"keep\": true}");
        var e = Assert.Throws<OnnxTransferException>(() => Report().Write(dir.File("config.json"), renderPlots: false));
        AssertOneLine(e, "config.json", "not an evaluation report");
        Assert.Equal("{\"keep\": true}", File.ReadAllText(dir.File("config.json")));
    }

    [Fact]
    public void Report_is_rewritten_over_an_earlier_report()
    {
        using var dir = new TempDir();
        Report().Write(dir.File("r.json"), renderPlots: false);
        Report().Write(dir.File("r.json"), renderPlots: false);
        Assert.True(File.Exists(dir.File("r.md")));
        Assert.Empty(Litter(dir.Path));
    }

    [Fact]
    public void Evaluate_cli_with_report_on_an_existing_file_is_a_one_line_error()
    {
        using var dir = new TempDir();
        File.WriteAllText(dir.File("notes.txt"), "mine");
        AssertRefused(RunCli("evaluate", "-f", dir.File("none.parquet"), "--head", dir.File("h"), "--report", dir.File("notes.txt")), "notes.txt", "--report");
    }

    // ---- training: the previous head survives divergence, a full disk and cancellation ----

    [Fact]
    public void Diverging_run_with_an_absurd_learning_rate_leaves_the_previous_head_byte_identical()
    {
        using var dir = new TempDir();
        var head = Head(dir);
        var before = Fingerprint(head);
        var e = Assert.Throws<OnnxTransferException>(() => Trainer.Fit(SyntheticData.Blobs(10, 2, 3, 3, 3), null,
            Quick with { LearningRate = 1e38, Optimizer = new OptimizerSettings { Kind = OptimizerKind.Sgd } }, head));
        AssertOneLine(e, "diverged", head, "learning rate");
        Assert.Equal(before, Fingerprint(head));
        Assert.Empty(Litter(dir.Path));
    }

    [Fact]
    public void Non_finite_features_are_refused_and_the_previous_head_stays_byte_identical()
    {
        using var dir = new TempDir();
        var head = Head(dir);
        var before = Fingerprint(head);
        var data = SyntheticData.Blobs(10, 2, 3, 3, 3);
        data.Features[4] = float.PositiveInfinity;
        var e = Assert.Throws<OnnxTransferException>(() => Trainer.Fit(data, null, Quick, head));
        AssertOneLine(e, "NaN or infinity");
        Assert.Equal(before, Fingerprint(head));
        Assert.Empty(Litter(dir.Path));
    }

    [Theory]
    [InlineData(0L)]      // the first file of the run
    [InlineData(3000L)]   // mid-run: graphs written, a checkpoint fails
    public void Full_disk_during_training_leaves_the_previous_head_and_no_litter(long bytes)
    {
        using var dir = new TempDir();
        var head = Head(dir);
        var before = Fingerprint(head);
        OnnxTransferException e;
        using (AtomicFile.SimulateDiskFull(bytes))
            e = Assert.Throws<OnnxTransferException>(() => Trainer.Fit(SyntheticData.Blobs(10, 2, 3, 3, 3), null, Quick with { Seed = 9 }, head));
        AssertOneLine(e, "No space left on device", "unchanged");
        Assert.Equal(before, Fingerprint(head));
        Assert.Empty(Litter(dir.Path));
    }

    [Fact]
    public void Cancelled_retrain_keeps_the_previous_head_and_resume_swaps_the_new_one_in()
    {
        using var dir = new TempDir();
        var head = Head(dir);
        var before = Fingerprint(head);
        var data = SyntheticData.Blobs(10, 2, 3, 3, 3);
        using var cts = new CancellationTokenSource();
        var options = Quick with { Epochs = 4, Seed = 5 };
        Assert.ThrowsAny<OperationCanceledException>(() => Trainer.Fit(data, null, options, head, new SyncProgress(u => { if (u.Done == 2) cts.Cancel(); }), cts.Token));
        Assert.Equal(before, Fingerprint(head));
        Assert.True(File.Exists(Path.Combine(Trainer.PartialPath(head), Trainer.CheckpointFile)));
        var resumed = Trainer.Resume(head, data, null);
        Assert.Equal(4, resumed.History.Count);
        Assert.NotEqual(before, Fingerprint(head));
        Assert.Empty(Litter(dir.Path));
    }

    [Fact]
    public void Second_run_on_a_head_being_written_is_refused()
    {
        using var dir = new TempDir();
        var head = dir.File("head");
        using (OutputLock.Acquire(head))
        {
            var e = Assert.Throws<OnnxTransferException>(() => Trainer.Fit(SyntheticData.Blobs(10, 2, 3, 3, 3), null, Quick, head));
            AssertOneLine(e, "another run is writing it", ".head.lock");
        }
        Assert.False(Directory.Exists(head));
        Trainer.Fit(SyntheticData.Blobs(10, 2, 3, 3, 3), null, Quick, head); // released: runs
        Assert.Empty(Litter(dir.Path));
    }

    [Fact]
    public void Stale_lock_file_of_a_dead_process_is_taken_over()
    {
        using var dir = new TempDir();
        File.WriteAllText(dir.File(".head.lock"), "999999");
        Trainer.Fit(SyntheticData.Blobs(10, 2, 3, 3, 3), null, Quick, dir.File("head"));
        Assert.True(File.Exists(Path.Combine(dir.File("head"), Trainer.EvalGraphFile)));
        Assert.Empty(Litter(dir.Path));
    }

    // ---- feature stores ----

    [Fact]
    public async Task Overwrite_that_is_cancelled_keeps_the_old_store()
    {
        using var dir = new TempDir();
        var store = await Store(dir);
        var before = Fingerprint(store);
        using var cts = new CancellationTokenSource();
        using var session = FeatureTestKit.Session();
        var items = FeatureTestKit.Dataset(dir.File("data"), 12);
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => new FeatureExtractor(session, new NumberEncoder(_ => cts.Cancel()), FeatureTestKit.Description())
            .RunAsync(items, store, new() { Overwrite = true, BatchSize = 4, Threads = 1 }, null, cts.Token));
        Assert.Equal(before, Fingerprint(store)); // before the fix --overwrite deleted it first
    }

    [Fact]
    public async Task Overwrite_replaces_the_store_when_complete_and_leaves_no_partial_folder()
    {
        using var dir = new TempDir();
        var store = await Store(dir);
        using var session = FeatureTestKit.Session();
        var summary = await new FeatureExtractor(session, new NumberEncoder(), FeatureTestKit.Description())
            .RunAsync(FeatureTestKit.Dataset(dir.File("data"), 12), store, new() { Overwrite = true, BatchSize = 4, Threads = 1 });
        Assert.Equal((12, 0), (summary.Written, summary.Skipped));
        Assert.Equal(12, (await FeatureStore.ReadAsync(store)).Count);
        Assert.False(Directory.Exists(FeatureStore.PartialPath(store)));
    }

    [Fact]
    public async Task Full_disk_while_writing_the_store_keeps_the_old_one_and_no_temp_file()
    {
        using var dir = new TempDir();
        var store = await Store(dir);
        var before = Fingerprint(store);
        using var session = FeatureTestKit.Session();
        OnnxTransferException e;
        using (AtomicFile.SimulateDiskFull(200))
            e = await Assert.ThrowsAsync<OnnxTransferException>(() => new FeatureExtractor(session, new NumberEncoder(), FeatureTestKit.Description())
                .RunAsync(FeatureTestKit.Dataset(dir.File("data"), 12), store, new() { Overwrite = true, BatchSize = 4, Threads = 1 }));
        AssertOneLine(e, "No space left on device");
        Assert.Equal(before, Fingerprint(store));
        Assert.Empty(Directory.EnumerateFiles(dir.Path, "*.tmp", SearchOption.AllDirectories));
    }

    [Fact]
    public async Task Second_extraction_into_a_store_being_written_is_refused()
    {
        using var dir = new TempDir();
        var store = dir.File("f.parquet");
        Directory.CreateDirectory(FeatureStore.PartialPath(store));
        using var held = new FileStream(Path.Combine(FeatureStore.PartialPath(store), "lock"), FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        using var session = FeatureTestKit.Session();
        var e = await Assert.ThrowsAsync<OnnxTransferException>(() => new FeatureExtractor(session, new NumberEncoder(), FeatureTestKit.Description())
            .RunAsync(FeatureTestKit.Dataset(dir.File("data"), 6), store, new() { Threads = 1 }));
        AssertOneLine(e, "another run is writing it");
    }

    // ---- single files and folders ----

    [Fact]
    public void Full_disk_while_saving_a_model_keeps_the_old_model()
    {
        using var dir = new TempDir();
        var path = dir.File("m.onnx");
        File.WriteAllBytes(path, FeatureTestKit.TinyBackbone());
        var before = Fingerprint(path);
        var model = OnnxTransfer.Onnx.OnnxModel.Load(path);
        using (AtomicFile.SimulateDiskFull(10))
            AssertOneLine(Assert.Throws<OnnxTransferException>(() => model.Save(path)), path, "No space left on device");
        Assert.Equal(before, Fingerprint(path));
        Assert.Empty(Litter(dir.Path));
    }

    [Fact]
    public void Folder_write_that_fails_midway_keeps_the_previous_folder()
    {
        using var dir = new TempDir();
        var target = Directory.CreateDirectory(dir.File("out")).FullName;
        File.WriteAllText(Path.Combine(target, "a.txt"), "old");
        var before = Fingerprint(target);
        Assert.Throws<InvalidOperationException>(() => AtomicFile.WriteDirectory(target, temp =>
        {
            File.WriteAllText(Path.Combine(temp, "a.txt"), "new");
            throw new InvalidOperationException("boom");
        }));
        Assert.Equal(before, Fingerprint(target));
        Assert.Single(Directory.EnumerateFileSystemEntries(dir.Path));
        AtomicFile.WriteDirectory(target, temp => File.WriteAllText(Path.Combine(temp, "b.txt"), "new"));
        Assert.Equal(["b.txt"], Directory.EnumerateFiles(target).Select(Path.GetFileName));
        Assert.Single(Directory.EnumerateFileSystemEntries(dir.Path));
    }

    [Fact]
    public void Folder_output_where_a_file_stands_is_refused()
    {
        using var dir = new TempDir();
        File.WriteAllText(dir.File("head"), "a file");
        var e = Assert.Throws<OnnxTransferException>(() => Trainer.Fit(SyntheticData.Blobs(10, 2, 3, 3, 3), null, Quick, dir.File("head")));
        AssertOneLine(e, "is a file");
        Assert.Equal("a file", File.ReadAllText(dir.File("head")));
        Assert.Empty(Litter(dir.Path));
    }
}
