using OnnxTransfer.Backbones;
using OnnxTransfer.Data;
using OnnxTransfer.Export;
using OnnxTransfer.Onnx;
using OnnxTransfer.Training.Engine;
using OnnxTransfer.Training.Heads;
using OnnxTransfer.Training.FineTuning;
using A = OnnxTransfer.Onnx.OnnxAttribute;
using DataType = OnnxTransfer.Onnx.Proto.TensorProto.Types.DataType;
using ModelMetadata = OnnxTransfer.Export.ModelMetadata;

namespace OnnxTransfer.Tests.Autodiff;

/// <summary>
/// Checkpoint/resume and gradual unfreezing of <see cref="FineTuner.Train"/> on a tiny backbone and synthetic boundary
/// activations (seconds, no images): image [N,3,6,6] → conv1 → relu → conv2 → relu → conv3 (1×1) → relu → GAP → features [N,5],
/// the last two layers (conv3, then conv2) unfrozen, so the boundary is relu1's output [4,6,6].
/// </summary>
public class FineTuneCheckpointTests
{
    public const string ChildMode = "fine-tune-until-blocked";
    private const int Classes = 3;

    private static readonly FineTuneOptions Options = new()
    {
        Unfreeze = 2,
        Training = new TrainingOptions { Epochs = 6, BatchSize = 8, LearningRate = 1e-2, Patience = 0 },
    };

    private static readonly ModelMetadata Metadata = new() { Labels = [], InputKind = ModelInputKind.ImageTensor, Backbone = "tiny" };

    private sealed record Setup(OnnxModel Backbone, FineTuneGraph Graph, ActivationSet Train, ActivationSet Val);

    private static OnnxModel TinyBackbone()
    {
        var model = OnnxModel.Create("tiny_backbone");
        var g = new GraphBuilder(model.Graph);
        var rng = new Random(21);
        string W(string hint, params long[] dims) => RandomWeights.Add(g, rng, hint, dims);
        g.Input("image", DataType.Float, [null, 3, 6, 6], ["N"]);
        var r1 = g.Node("Relu", [g.Node("Conv", ["image", W("conv1.w", 4, 3, 3, 3), W("conv1.b", 4)], A.Ints("pads", 1, 1, 1, 1))]);
        var r2 = g.Node("Relu", [g.Node("Conv", [r1, W("conv2.w", 6, 4, 3, 3), W("conv2.b", 6)], A.Ints("pads", 1, 1, 1, 1))]);
        var r3 = g.Node("Relu", [g.Node("Conv", [r2, W("conv3.w", 5, 6, 1, 1), W("conv3.b", 5)])]);
        g.Alias(g.Node("Flatten", [g.Node("GlobalAveragePool", [r3])]), BackboneCutter.FeaturesOutput);
        g.Output(BackboneCutter.FeaturesOutput, DataType.Float, [null, 5], ["N"]);
        return model;
    }

    /// <summary>Everything from fixed seeds, so the child process builds exactly the same run.</summary>
    private static Setup Build()
    {
        var backbone = TinyBackbone();
        var graph = FineTuneGraphBuilder.Build(backbone, HeadSpec.Linear, HeadTask.MultiClass, Classes, Options.Unfreeze);
        var shape = FineTuner.BoundaryShape(graph);
        var size = (int)shape.Aggregate(1L, (a, d) => a * d);
        var rng = new Random(3);
        ActivationSet Set(string split, int count)
        {
            // Class c raises channel c of the (non-negative, post-ReLU) boundary activations.
            var items = Enumerable.Range(0, count).Select(i => new DatasetItem($"{split}/{i}.png", $"{split}/{i}", ((char)('a' + i % Classes)).ToString(), split)).ToArray();
            var values = new float[count * size];
            for (var i = 0; i < count; i++)
                for (var k = 0; k < size; k++)
                    values[i * size + k] = (float)Math.Max(0, rng.NextDouble() - 0.3 + (k / 36 == i % Classes ? 0.5 : 0));
            return new ActivationSet(values, shape, items);
        }
        return new Setup(backbone, graph, Set("train", 36), Set("val", 12));
    }

    private static FineTuneResult Train(Setup s, FineTuneOptions options, IProgress<ProgressUpdate>? progress = null, CancellationToken ct = default) =>
        FineTuner.Train(s.Backbone, s.Graph, s.Train, s.Val, options, Metadata, progress, ct);

    [Fact]
    public async Task Sigkilled_fine_tuning_resumes_to_the_same_weights_as_an_uninterrupted_run()
    {
        using var dir = new TempDir();
        var killed = dir.File("killed.ckpt");
        Assert.Equal(137, await KilledChild.RunAsync("epoch 3", ChildMode, killed, "3"));
        Assert.Equal(3, TrainingCheckpoint.Load(killed).Epoch);

        var s = Build();
        var resumed = Train(s, Options with { CheckpointPath = killed });
        Assert.Equal(3, resumed.ResumedEpochs);
        Assert.Equal([1, 2, 3, 4, 5, 6], resumed.History.Select(h => h.Epoch));
        var straight = Train(s, Options with { CheckpointPath = dir.File("straight.ckpt") });
        Assert.Equal(0, straight.ResumedEpochs);
        Assert.Equal(File.ReadAllBytes(dir.File("straight.ckpt")), File.ReadAllBytes(killed));
        Assert.Equal(straight.Model.ToBytes(), resumed.Model.ToBytes());
        // Not vacuous: both backbone layers moved, and the run without any checkpoint ends in the same weights.
        foreach (var name in s.Graph.BackboneValues.Keys)
            Assert.NotEqual(s.Graph.BackboneValues[name], OnnxTensor.ToFloats(resumed.TunedBackbone.Graph.Initializer.Single(t => t.Name == name)));
        Assert.Equal(straight.Model.ToBytes(), Train(s, Options).Model.ToBytes());
    }

    /// <summary>Child side: fine-tunes with a checkpoint, prints "epoch N" after each saved epoch, and blocks for ever after epoch blockAt.</summary>
    public static int Child(string[] args)
    {
        var s = Build();
        var blockAt = int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture);
        var progress = new InlineProgress(u =>
        {
            Console.WriteLine($"epoch {u.Done}");
            Console.Out.Flush();
            if (u.Done == blockAt) new ManualResetEventSlim().Wait();  // wait to be killed
        });
        Train(s, Options with { CheckpointPath = args[0] }, progress);
        return 0;
    }

    [Fact]
    public void A_checkpoint_of_another_run_is_refused_and_a_finished_one_is_returned_as_is()
    {
        using var dir = new TempDir();
        var s = Build();
        var path = dir.File("run.ckpt");
        var options = Options with { Training = Options.Training with { Epochs = 2 }, CheckpointPath = path };
        var first = Train(s, options);

        var other = Assert.Throws<OnnxTransferException>(() => Train(s, options with { Training = options.Training with { LearningRate = 5e-3 } }));
        Assert.Contains(path, other.Message);
        Assert.Contains("(options differ)", other.Message);
        Assert.Contains("delete it to start over", other.Message);
        Assert.DoesNotContain('\n', other.Message);
        var fewer = Assert.Throws<OnnxTransferException>(() =>
            FineTuner.Train(s.Backbone, s.Graph, s.Train.Subset(Enumerable.Range(0, 30).ToArray()), s.Val, options, Metadata));
        Assert.Contains("(training items differ)", fewer.Message);
        var shifted = new ActivationSet(s.Train.Values.Select(v => v + 0.01f).ToArray(), s.Train.SampleShape, s.Train.Items);
        Assert.Contains("(training activations differ)",
            Assert.Throws<OnnxTransferException>(() => FineTuner.Train(s.Backbone, s.Graph, shifted, s.Val, options, Metadata)).Message);

        // The same run again: nothing left to train, the same model comes back.
        var again = Train(s, options);
        Assert.Equal(2, again.ResumedEpochs);
        Assert.Equal(first.Model.ToBytes(), again.Model.ToBytes());

        File.WriteAllText(path, "not a checkpoint");
        Assert.Contains("not an OnnxTransfer checkpoint", Assert.Throws<OnnxTransferException>(() => Train(s, options)).Message);
    }

    [Fact]
    public void Gradual_unfreezing_releases_one_layer_per_stage_and_resumes_exactly_across_stages()
    {
        using var dir = new TempDir();
        var s = Build();
        // One batch per epoch, so a layer's first update is one AdamW step that can be checked by hand.
        var options = Options with { GradualUnfreezing = 1, Training = Options.Training with { Epochs = 5, BatchSize = 36 } };
        var straight = Train(s, options with { CheckpointPath = dir.File("straight.ckpt") });

        // The same run, cancelled after each of the first three epochs and resumed each time.
        var path = dir.File("stepwise.ckpt");
        var after = new Dictionary<int, TrainingCheckpoint>();
        for (var stop = 1; stop <= 3; stop++)
        {
            using var cts = new CancellationTokenSource();
            var at = stop;
            var progress = new InlineProgress(u => { if (u.Done == at && !(u.Message ?? "").StartsWith("resumed", StringComparison.Ordinal)) cts.Cancel(); });
            Assert.Throws<OperationCanceledException>(() => Train(s, options with { CheckpointPath = path }, progress, cts.Token));
            after[stop] = TrainingCheckpoint.Load(path);
            Assert.Equal(stop, after[stop].Epoch);
        }
        var resumed = Train(s, options with { CheckpointPath = path });
        Assert.Equal(3, resumed.ResumedEpochs);
        Assert.Equal(File.ReadAllBytes(dir.File("straight.ckpt")), File.ReadAllBytes(path));
        Assert.Equal(straight.Model.ToBytes(), resumed.Model.ToBytes());
        var described = resumed.Model.Metadata[FineTuner.UnfrozenMetadataKey];
        Assert.Contains("gradual unfreezing, 1 epoch(s) per stage", described);
        var best = resumed.History.MinBy(h => h.ValLoss)!.Epoch;
        Assert.Contains($"best epoch {best} (head + {Math.Min(best - 1, 2)} layer(s) trained)", described);

        var initial = s.Graph.BackboneValues;
        string[] conv3 = ["conv3.w", "conv3.b"], conv2 = ["conv2.w", "conv2.b"];
        Assert.Equal(["conv3.b", "conv3.w"], s.Graph.Layers[0].Parameters.Order(StringComparer.Ordinal));
        Assert.Equal(["conv2.b", "conv2.w"], s.Graph.Layers[1].Parameters.Order(StringComparer.Ordinal));
        void Unchanged(int epoch, string name)
        {
            Assert.Equal(initial[name], after[epoch].Parameters[name]);  // bit for bit: no step, no weight decay
            Assert.All(OptimizerGraph.StateNames(options.Training.Optimizer, name), m => Assert.All(after[epoch].OptimizerState[m], v => Assert.Equal(0f, v)));
        }
        // Stage 0 (epoch 1): the head only.
        foreach (var name in conv3.Concat(conv2)) Unchanged(1, name);
        Assert.Equal([1L, 0L, 0L], after[1].GroupSteps);
        foreach (var head in s.Graph.Parameters.Where(p => !initial.ContainsKey(p.Name)))
            Assert.NotEqual(after[1].Parameters[head.Name], after[2].Parameters[head.Name]);
        // Stage 1 (epoch 2): + conv3 (the layer nearest the features); conv2 still untouched.
        foreach (var name in conv2) Unchanged(2, name);
        foreach (var name in conv3) Assert.NotEqual(initial[name], after[2].Parameters[name]);
        // Stage 2 (epoch 3 on): + conv2.
        foreach (var name in conv2) Assert.NotEqual(initial[name], after[3].Parameters[name]);
        // Per-group update counts: head every epoch, conv3 from epoch 2, conv2 from epoch 3.
        Assert.Equal([2L, 1L, 0L], after[2].GroupSteps);
        Assert.Equal([3L, 2L, 1L], after[3].GroupSteps);

        // conv3's first update was AdamW's first step (bias correction by its own count): m̂ = g, v̂ = g², so every weight
        // with a gradient moved by lr·factor (minus a tiny decay), not by the 0.74·lr a step count of 2 would give.
        var lr = after[2].History[1].LearningRate * options.BackboneLearningRateFactor;
        var moves = initial["conv3.w"].Zip(after[2].Parameters["conv3.w"], (a, b) => Math.Abs((double)b - a)).ToArray();
        var stepped = moves.Where(m => m > lr / 2).ToArray();
        Assert.True(stepped.Length > moves.Length / 2, $"{stepped.Length} of {moves.Length} weights stepped");
        Assert.All(stepped, m => Assert.InRange(m, lr * 0.99, lr * 1.01));
    }

    [Fact]
    public void Gradual_unfreezing_needs_enough_epochs_to_reach_every_layer()
    {
        var s = Build();
        var e = Assert.Throws<OnnxTransferException>(() => Train(s, Options with { GradualUnfreezing = 2, Training = Options.Training with { Epochs = 4 } }));
        Assert.Contains("epoch 5", e.Message);
        Assert.Contains("now 4", e.Message);
    }

    private sealed class InlineProgress(Action<ProgressUpdate> report) : IProgress<ProgressUpdate>
    {
        public void Report(ProgressUpdate value) => report(value);
    }
}
