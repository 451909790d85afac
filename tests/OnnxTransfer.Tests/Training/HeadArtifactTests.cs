using OnnxTransfer.Features;
using OnnxTransfer.Onnx;
using OnnxTransfer.Training.Engine;
using OnnxTransfer.Training.Heads;
using DataType = OnnxTransfer.Onnx.Proto.TensorProto.Types.DataType;

namespace OnnxTransfer.Tests.Training;

/// <summary>Head directory artifacts, data plumbing and the small rules around training.</summary>
public class HeadArtifactTests
{
    [Fact]
    public void Eval_graph_with_the_layernorm_op_gives_the_training_graphs_logits()
    {
        var spec = HeadSpec.Parse("mlp:6,5+layernorm+dropout=0.3");
        const int B = 4, D = 7, C = 3;
        var rng = new Random(1);
        var parameters = HeadGraphBuilder.Parameters(spec, HeadTask.MultiClass, D, C);
        var values = parameters.ToDictionary(p => p.Name, p => Enumerable.Range(0, p.Count).Select(_ => (float)SyntheticData.Gaussian(rng)).ToArray());
        var x = Enumerable.Range(0, B * D).Select(_ => SyntheticData.Gaussian(rng)).ToArray();

        var eval = HeadGraphBuilder.BuildEval(spec, HeadTask.MultiClass, D, C, values);
        Assert.Contains(eval.Graph.Node, n => n.OpType == "LayerNormalization");
        using var evalRunner = new GraphRunner(eval);
        var evalLogits = evalRunner.Run(new Dictionary<string, (double[], long[])> { [HeadGraphBuilder.Features] = (x, [B, D]) }, asFloat: true)[HeadGraphBuilder.Logits];

        using var trainRunner = new GraphRunner(HeadGraphBuilder.BuildTraining(spec, HeadTask.MultiClass, D, C));
        var inputs = new Dictionary<string, (double[], long[])>
        {
            [HeadGraphBuilder.Features] = (x, [B, D]),
            [HeadGraphBuilder.Weights] = (Enumerable.Repeat(1.0, B).ToArray(), [B]),
            [HeadGraphBuilder.DropoutMaskName(0)] = (Enumerable.Repeat(1.0, B * 6).ToArray(), [B, 6]),
            [HeadGraphBuilder.DropoutMaskName(1)] = (Enumerable.Repeat(1.0, B * 5).ToArray(), [B, 5]),
        };
        foreach (var p in parameters) inputs[p.Name] = (values[p.Name].Select(v => (double)v).ToArray(), p.Dims);
        var ints = new Dictionary<string, (long[], long[])> { [HeadGraphBuilder.Labels] = (new long[B], [B]) };
        var trainLogits = trainRunner.Run(inputs, ints, asFloat: true)[HeadGraphBuilder.Logits];
        Assert.Equal(B * C, evalLogits.Length);
        for (var i = 0; i < evalLogits.Length; i++) Assert.Equal(trainLogits[i], evalLogits[i], 4);
    }

    [Theory]
    [InlineData("mlp:5+dropout=0.1")] // mini-batch AdamW
    [InlineData("linear")] // full-batch L-BFGS: the same files
    public void Head_directory_holds_graphs_checkpoint_and_a_head_json_that_round_trips(string spec)
    {
        using var dir = new TempDir();
        var data = SyntheticData.Blobs(10, 3, 4, separation: 3, seed: 2);
        var options = new TrainingOptions { Spec = HeadSpec.Parse(spec), Epochs = 2, FeatureSource = "mobilenetv2 pool 1280", ValidationFraction = 0.2 };
        var result = Trainer.Fit(data, null, options, dir.Path);
        foreach (var f in new[] { Trainer.TrainGraphFile, Trainer.EvalGraphFile, Trainer.OptimizerGraphFile, Trainer.CheckpointFile, HeadInfo.FileName })
            Assert.True(File.Exists(dir.File(f)), f);
        Assert.Empty(Directory.GetFiles(dir.Path, "*.tmp"));

        Assert.Contains($"\"spec\": \"{spec}\"", File.ReadAllText(dir.File(HeadInfo.FileName)));
        foreach (var graph in new[] { Trainer.TrainGraphFile, Trainer.EvalGraphFile, Trainer.OptimizerGraphFile })
        {
            var m = OnnxModel.Load(dir.File(graph));
            Assert.Equal(OnnxModel.DefaultOpset, m.OpsetVersion());
            Assert.All(m.Graph.Node, n => Assert.Equal("", n.Domain)); // standard ai.onnx operators only
        }
        var info = HeadInfo.Load(dir.Path);
        Assert.Equal(spec, info.Spec);
        Assert.Equal(HeadTask.MultiClass, info.Task);
        Assert.Equal(["class0", "class1", "class2"], info.Classes);
        Assert.Equal(4, info.FeatureDimension);
        Assert.Equal("mobilenetv2 pool 1280", info.FeatureSource);
        // head.json records the rule that ran (auto resolved), so Resume and Continue repeat it.
        Assert.Equal(options with { Task = HeadTask.MultiClass, Optimizer = options.Optimizer.ResolveFor(options.Spec.IsLinear) }, info.Training);
        Assert.Equal(result.Info.Metrics, info.Metrics);
        if (info.Spec == "linear")
        {
            // Few rows: L2 is chosen by cross-validation over all 30 rows, then solved on all of them (no carve).
            Assert.Equal(30, info.Metrics.TrainRows);
            Assert.Equal(0, info.Metrics.ValRows);
            Assert.Equal(30, info.Metrics.RefitRows);
            Assert.NotNull(info.Metrics.ValLoss); // the folds' mean validation loss at the chosen strength
        }
        else
        {
            Assert.Equal(24, info.Metrics.TrainRows);
            Assert.Equal(6, info.Metrics.ValRows);
        }

        var eval = OnnxModel.Load(dir.File(Trainer.EvalGraphFile));
        Assert.Equal(spec, eval.Metadata[HeadInfo.MetadataPrefix + "spec"]);
        Assert.Equal("[\"class0\",\"class1\",\"class2\"]", eval.Metadata[HeadInfo.MetadataPrefix + "classes"]);
        Assert.DoesNotContain(eval.Graph.Input, i => i.Name.StartsWith("dropout", StringComparison.Ordinal));
    }

    [Fact]
    public void Damaged_checkpoint_and_head_json_give_one_line_errors()
    {
        using var dir = new TempDir();
        Trainer.Fit(SyntheticData.Blobs(10, 2, 3, 3, 3), null, new TrainingOptions { Epochs = 1 }, dir.Path);
        var ck = dir.File(Trainer.CheckpointFile);
        var bytes = File.ReadAllBytes(ck);
        File.WriteAllBytes(ck, bytes[..(bytes.Length / 2)]);
        var e = Assert.Throws<OnnxTransferException>(() => TrainingCheckpoint.Load(ck));
        Assert.Contains("truncated", e.Message);
        File.WriteAllText(ck, "not a checkpoint at all");
        Assert.Contains("not an OnnxTransfer checkpoint", Assert.Throws<OnnxTransferException>(() => TrainingCheckpoint.Load(ck)).Message);
        File.WriteAllText(dir.File(HeadInfo.FileName), "{ broken");
        e = Assert.Throws<OnnxTransferException>(() => HeadInfo.Load(dir.Path));
        Assert.Contains(HeadInfo.FileName, e.Message);
        Assert.DoesNotContain('\n', e.Message);
    }

    [Fact]
    public void Checkpoint_round_trips_every_field()
    {
        using var dir = new TempDir();
        var c = new TrainingCheckpoint
        {
            Epoch = 3, Step = 42, RandomState = [1, 2, 3, ulong.MaxValue], BestScore = -0.75, BestEpoch = 2, EpochsSinceBest = 1, Stopped = true,
            History = [new EpochMetrics(1, 0.5, 0.8, null, null, 1e-3), new EpochMetrics(2, 0.25, 0.9, 0.3, 0.85, 5e-4)],
        };
        c.Parameters["w"] = [1.5f, -2f, float.Epsilon];
        c.OptimizerState["adam_m.w"] = [0.1f];
        c.BestParameters["w"] = [3f];
        c.Save(dir.File("ck.bin"));
        var d = TrainingCheckpoint.Load(dir.File("ck.bin"));
        Assert.Equal((c.Epoch, c.Step, c.BestScore, c.BestEpoch, c.EpochsSinceBest, c.Stopped), (d.Epoch, d.Step, d.BestScore, d.BestEpoch, d.EpochsSinceBest, d.Stopped));
        Assert.Equal(c.RandomState, d.RandomState);
        Assert.Equal(c.History, d.History);
        TrainerTests.AssertSameTensors(c.Parameters, d.Parameters);
        TrainerTests.AssertSameTensors(c.OptimizerState, d.OptimizerState);
        TrainerTests.AssertSameTensors(c.BestParameters, d.BestParameters);
    }

    [Fact]
    public void Balanced_class_weights_and_stratified_split()
    {
        var labels = Enumerable.Repeat(0, 60).Concat(Enumerable.Repeat(1, 30)).Concat(Enumerable.Repeat(2, 10)).ToArray();
        var data = TrainingSet.SingleLabel(new float[labels.Length], 1, labels, ["a", "b", "c"]);
        // N / (C · n_c) = 100/(3·60), 100/(3·30), 100/(3·10).
        Assert.Equal([100f / 180, 100f / 90, 100f / 30], Trainer.ClassWeights(data, ClassWeighting.Auto), new FloatTolerance(1e-6f));
        Assert.Equal([1f, 1f, 1f], Trainer.ClassWeights(data, ClassWeighting.None));
        var even = TrainingSet.SingleLabel(new float[20], 1, Enumerable.Range(0, 20).Select(i => i % 2).ToArray(), ["a", "b"]);
        Assert.Equal([1f, 1f], Trainer.ClassWeights(even, ClassWeighting.Auto));

        var (train, val) = data.SplitRows(0.2, seed: 5);
        Assert.Equal(100, train.Length + val.Length);
        Assert.Empty(train.Intersect(val));
        Assert.Equal([12, 6, 2], new[] { 0, 1, 2 }.Select(c => val.Count(i => labels[i] == c)).ToArray());
        Assert.Equal(val, data.SplitRows(0.2, seed: 5).Val);
        Assert.NotEqual(val, data.SplitRows(0.2, seed: 6).Val);
    }

    [Fact]
    public void Grouped_split_keeps_every_group_on_one_side()
    {
        // 40 clips × 5 augmented copies, two classes: copies of one clip must never straddle train and validation.
        var labels = Enumerable.Range(0, 200).Select(i => i / 5 % 2).ToArray();
        var data = TrainingSet.SingleLabel(new float[200], 1, labels, ["a", "b"]);
        string Clip(int row) => $"clip{row / 5}";
        var (train, val) = data.SplitRows(0.2, seed: 3, Clip);
        Assert.Equal(200, train.Length + val.Length);
        Assert.Empty(train.Select(Clip).Intersect(val.Select(Clip)));
        Assert.Equal([20, 20], new[] { 0, 1 }.Select(c => val.Count(i => labels[i] == c)).ToArray());
        Assert.Equal(val, data.SplitRows(0.2, seed: 3, Clip).Val);

        // Ungrouped, the same split puts copies of some clip on both sides: the leak the grouping removes.
        var (plainTrain, plainVal) = data.SplitRows(0.2, seed: 3);
        Assert.NotEmpty(plainTrain.Select(Clip).Intersect(plainVal.Select(Clip)));
    }

    [Fact]
    public void Learning_rate_schedules()
    {
        var o = new TrainingOptions { LearningRate = 0.1 };
        Assert.Equal(0.1, (o with { Schedule = LearningRateSchedule.Constant }).LearningRateAt(77, 100));
        var cos = o with { Schedule = LearningRateSchedule.Cosine };
        Assert.Equal(0.1, cos.LearningRateAt(0, 100), 12);
        Assert.Equal(0.05, cos.LearningRateAt(50, 100), 12);
        Assert.Equal(0.1 * 0.5 * (1 + Math.Cos(Math.PI * 0.99)), cos.LearningRateAt(99, 100), 12);
        var warm = o with { Schedule = LearningRateSchedule.WarmupLinear, WarmupFraction = 0.1 };
        Assert.Equal(0.01, warm.LearningRateAt(0, 100), 12);
        Assert.Equal(0.1, warm.LearningRateAt(9, 100), 12);
        Assert.Equal(0.1 * 45 / 90, warm.LearningRateAt(55, 100), 12);
    }

    [Fact]
    public void Trains_from_feature_tables_and_rejects_unknown_validation_labels()
    {
        var blobs = SyntheticData.Blobs(15, 3, 4, separation: 4, seed: 4);
        string[] names = ["cat", "dog", "eel"];
        var table = new FeatureTable(
            Enumerable.Range(0, blobs.Count).Select(i => $"img{i}.jpg").ToArray(),
            blobs.ClassIndex!.Select(c => names[c]).ToArray(),
            Enumerable.Range(0, blobs.Count).Select(i => i % 5 == 0 ? "val" : "train").ToArray(),
            blobs.Features, 4);
        using var dir = new TempDir();
        var result = Trainer.Fit(table.WhereSplit("train"), table.WhereSplit("val"), new TrainingOptions { Epochs = 15, LearningRate = 0.05, BatchSize = 8 }, dir.Path);
        Assert.Equal(names, result.Info.Classes);
        Assert.Equal(table.WhereSplit("val").Count, result.Info.Metrics.ValRows);
        Assert.NotNull(result.History[^1].ValAccuracy);
        using var head = HeadModel.Load(dir.Path);
        Assert.True(SyntheticData.Accuracy(head.PredictClasses(table.Features), blobs.ClassIndex!) > 0.9);

        var bad = table with { Labels = table.Labels.Select((l, i) => i == 0 ? "fox" : l).ToArray() };
        var e = Assert.Throws<OnnxTransferException>(() => Trainer.Fit(table.WhereSplit("train"), bad.WhereSplit("val"), new TrainingOptions(), dir.Path));
        Assert.Contains("img0.jpg", e.Message);
        Assert.Contains("fox", e.Message);
    }

    [Fact]
    public void Multi_label_tables_separate_labels_with_semicolons()
    {
        var table = new FeatureTable(["a.wav", "b.wav", "c.wav", "d.wav"], ["speech;music", "music", "", "noise; speech"], ["", "", "", ""],
            new float[8], 2);
        var e = Assert.Throws<OnnxTransferException>(() => TrainingSet.FromTable(table, multiLabel: true));
        Assert.Contains("c.wav", e.Message);
        var set = TrainingSet.FromTable(table with { Labels = ["speech;music", "music", "noise", "noise; speech"] }, multiLabel: true);
        Assert.Equal(["music", "noise", "speech"], set.Classes);
        Assert.Equal([1f, 0, 1, 1, 0, 0, 0, 1, 0, 0, 1, 1], set.Targets!);
    }

    private sealed class FloatTolerance(float tolerance) : IEqualityComparer<float>
    {
        public bool Equals(float x, float y) => Math.Abs(x - y) <= tolerance;
        public int GetHashCode(float obj) => 0;
    }
}
