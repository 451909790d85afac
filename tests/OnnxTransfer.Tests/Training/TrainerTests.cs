using MathNet.Numerics.LinearAlgebra;
using MathNet.Numerics.Optimization;
using Xunit.Abstractions;
using OnnxTransfer.Training.Engine;
using OnnxTransfer.Training.Heads;

namespace OnnxTransfer.Tests.Training;

public class TrainerTests(ITestOutputHelper output)
{
    private static readonly TrainingOptions Quick = new()
    {
        Epochs = 20, BatchSize = 16, LearningRate = 0.05, Patience = 0, ValidationFraction = 0,
        ClassWeighting = ClassWeighting.None, Seed = 7,
        Optimizer = new OptimizerSettings { Kind = OptimizerKind.AdamW }, // these tests are about the mini-batch loop
    };

    [Theory]
    [InlineData(2)]
    [InlineData(3)]
    public void Linear_head_separates_separable_data_completely(int classes)
    {
        using var dir = new TempDir();
        var data = SyntheticData.Blobs(40, classes, 4, separation: 8, seed: 1);
        var result = Trainer.Fit(data, null, Quick, dir.Path);
        Assert.Equal(classes == 2 ? HeadTask.Binary : HeadTask.MultiClass, result.Info.Task);
        using var head = HeadModel.Load(dir.Path);
        Assert.Equal(1.0, SyntheticData.Accuracy(head.PredictClasses(data.Features), data.ClassIndex!));
        Assert.Equal(1.0, result.History[^1].TrainAccuracy);
        Assert.True(result.History[^1].TrainLoss < result.History[0].TrainLoss / 3);
    }

    [Fact]
    public void Multiclass_logistic_regression_matches_an_lbfgs_reference()
    {
        const int Classes = 4, Dim = 6;
        var train = SyntheticData.Blobs(100, Classes, Dim, separation: 1.6, seed: 2);
        var test = SyntheticData.Blobs(500, Classes, Dim, separation: 1.6, seed: 3);
        const double L2 = 1e-3;

        // Reference: minimise mean softmax cross-entropy + L2/2·|W|² with MathNet's L-BFGS.
        var n = train.Count;
        var objective = ObjectiveFunction.Gradient(theta =>
        {
            var grad = Vector<double>.Build.Dense(theta.Count);
            double loss = 0;
            var z = new double[Classes];
            for (var i = 0; i < n; i++)
            {
                for (var c = 0; c < Classes; c++)
                {
                    z[c] = theta[Dim * Classes + c];
                    for (var d = 0; d < Dim; d++) z[c] += train.Features[i * Dim + d] * theta[d * Classes + c];
                }
                var max = z.Max();
                var sum = z.Sum(v => Math.Exp(v - max));
                var y = train.ClassIndex![i];
                loss += max + Math.Log(sum) - z[y];
                for (var c = 0; c < Classes; c++)
                {
                    var g = Math.Exp(z[c] - max) / sum - (c == y ? 1 : 0);
                    grad[Dim * Classes + c] += g / n;
                    for (var d = 0; d < Dim; d++) grad[d * Classes + c] += g * train.Features[i * Dim + d] / n;
                }
            }
            loss /= n;
            for (var k = 0; k < Dim * Classes; k++) { loss += L2 / 2 * theta[k] * theta[k]; grad[k] += L2 * theta[k]; }
            return (loss, grad);
        });
        var minimizer = new LimitedMemoryBfgsMinimizer(1e-8, 1e-12, 1e-14, 10, 1000);
        var theta = minimizer.FindMinimum(objective, Vector<double>.Build.Dense(Dim * Classes + Classes)).MinimizingPoint;
        var reference = new int[test.Count];
        for (var i = 0; i < test.Count; i++)
        {
            var best = 0; var bestZ = double.NegativeInfinity;
            for (var c = 0; c < Classes; c++)
            {
                var z = theta[Dim * Classes + c];
                for (var d = 0; d < Dim; d++) z += test.Features[i * Dim + d] * theta[d * Classes + c];
                if (z > bestZ) { bestZ = z; best = c; }
            }
            reference[i] = best;
        }
        var referenceAccuracy = SyntheticData.Accuracy(reference, test.ClassIndex!);

        using var dir = new TempDir();
        Trainer.Fit(train, null, Quick with { Epochs = 40, BatchSize = 32, LearningRate = 0.05, Optimizer = new OptimizerSettings { Kind = OptimizerKind.AdamW, WeightDecay = 0 } }, dir.Path);
        using var head = HeadModel.Load(dir.Path);
        var ours = SyntheticData.Accuracy(head.PredictClasses(test.Features), test.ClassIndex!);

        output.WriteLine($"test accuracy: ours {ours:P2}, L-BFGS {referenceAccuracy:P2}");
        Assert.InRange(referenceAccuracy, 0.6, 0.97); // the problem is neither trivial nor hopeless
        Assert.True(Math.Abs(ours - referenceAccuracy) <= 0.01, $"ours {ours:P2} vs L-BFGS {referenceAccuracy:P2}");
    }

    [Fact]
    public void Same_seed_gives_identical_parameters_and_another_seed_does_not()
    {
        var data = SyntheticData.Blobs(30, 3, 8, separation: 2, seed: 4);
        var options = Quick with { Spec = HeadSpec.Parse("mlp:16+layernorm+dropout=0.2"), Epochs = 4, ValidationFraction = 0.2, Patience = 10 };
        using var a = new TempDir();
        using var b = new TempDir();
        using var c = new TempDir();
        Trainer.Fit(data, null, options, a.Path);
        Trainer.Fit(data, null, options, b.Path);
        Trainer.Fit(data, null, options with { Seed = 8 }, c.Path);
        var pa = TrainingCheckpoint.Load(Path.Combine(a.Path, Trainer.CheckpointFile));
        var pb = TrainingCheckpoint.Load(Path.Combine(b.Path, Trainer.CheckpointFile));
        var pc = TrainingCheckpoint.Load(Path.Combine(c.Path, Trainer.CheckpointFile));
        AssertSameTensors(pa.Parameters, pb.Parameters);
        AssertSameTensors(pa.OptimizerState, pb.OptimizerState);
        Assert.NotEqual(pa.Parameters["dense0.weight"], pc.Parameters["dense0.weight"]);
        Assert.Equal(File.ReadAllBytes(Path.Combine(a.Path, Trainer.EvalGraphFile)), File.ReadAllBytes(Path.Combine(b.Path, Trainer.EvalGraphFile)));
    }

    [Fact]
    public void Interrupted_run_resumed_from_its_checkpoint_ends_identical_to_an_uninterrupted_one()
    {
        var data = SyntheticData.Blobs(30, 3, 8, separation: 2, seed: 5);
        var options = Quick with
        {
            Spec = HeadSpec.Parse("mlp:12,8+layernorm+dropout=0.3"), Epochs = 6, ValidationFraction = 0.2, Patience = 20,
            Schedule = LearningRateSchedule.WarmupLinear, LearningRate = 0.01,
            Optimizer = new OptimizerSettings { ClipNorm = 1 },
        };
        using var straight = new TempDir();
        using var resumed = new TempDir();
        var full = Trainer.Fit(data, null, options, straight.Path);

        using var cts = new CancellationTokenSource();
        var stopAtThree = new SyncProgress(u => { if (u.Done == 3) cts.Cancel(); });
        Assert.ThrowsAny<OperationCanceledException>(() => Trainer.Fit(data, null, options, resumed.Path, stopAtThree, cts.Token));
        Assert.Equal(3, TrainingCheckpoint.Load(Path.Combine(Trainer.PartialPath(resumed.Path), Trainer.CheckpointFile)).Epoch); // the unfinished run works beside the head
        var resumedEpochs = new List<long>();
        var second = Trainer.Resume(resumed.Path, data, null, progress: new SyncProgress(u => resumedEpochs.Add(u.Done)));
        Assert.Equal([4L, 5L, 6L], resumedEpochs); // it continued, it did not start over

        var a = TrainingCheckpoint.Load(Path.Combine(straight.Path, Trainer.CheckpointFile));
        var b = TrainingCheckpoint.Load(Path.Combine(resumed.Path, Trainer.CheckpointFile));
        Assert.Equal(6, b.Epoch);
        Assert.Equal(a.Step, b.Step);
        AssertSameTensors(a.Parameters, b.Parameters);
        AssertSameTensors(a.OptimizerState, b.OptimizerState);
        AssertSameTensors(a.BestParameters, b.BestParameters);
        Assert.Equal(a.RandomState, b.RandomState);
        Assert.Equal(full.History, second.History);
    }

    [Fact]
    public void Continue_fine_tunes_an_existing_head_on_new_data()
    {
        var original = SyntheticData.Blobs(40, 3, 5, separation: 3, seed: 6);
        var shifted = SyntheticData.Blobs(40, 3, 5, separation: 3, seed: 7, shift: 2.5);
        using var first = new TempDir();
        using var second = new TempDir();
        Trainer.Fit(original, null, Quick, first.Path);
        using (var before = HeadModel.Load(first.Path))
        {
            var accBefore = SyntheticData.Accuracy(before.PredictClasses(shifted.Features), shifted.ClassIndex!);
            Trainer.Continue(first.Path, shifted, null, Quick with { Epochs = 10, LearningRate = 0.02 }, second.Path);
            using var after = HeadModel.Load(second.Path);
            var accAfter = SyntheticData.Accuracy(after.PredictClasses(shifted.Features), shifted.ClassIndex!);
            Assert.True(accAfter > accBefore + 0.1, $"before {accBefore:P1}, after {accAfter:P1}");
        }

        // A zero-length run from the head starts at the head's parameters (warm start, not re-initialisation).
        using var third = new TempDir();
        Trainer.Continue(first.Path, shifted, null, Quick with { Epochs = 1, LearningRate = 1e-12, Schedule = LearningRateSchedule.Constant }, third.Path);
        var start = TrainingCheckpoint.Load(Path.Combine(first.Path, Trainer.CheckpointFile)).Parameters;
        var warm = TrainingCheckpoint.Load(Path.Combine(third.Path, Trainer.CheckpointFile)).Parameters;
        foreach (var (name, values) in start)
            for (var i = 0; i < values.Length; i++) Assert.Equal(values[i], warm[name][i], 1e-5);

        var otherClasses = SyntheticData.Blobs(5, 4, 5, separation: 3, seed: 8);
        var e = Assert.Throws<OnnxTransferException>(() => Trainer.Continue(first.Path, otherClasses, null, Quick, second.Path));
        Assert.Contains("classes", e.Message);
    }

    [Fact]
    public void Head_model_probabilities_match_a_softmax_of_the_checkpoint_weights()
    {
        var data = SyntheticData.Blobs(20, 3, 4, separation: 2, seed: 9);
        using var dir = new TempDir();
        Trainer.Fit(data, null, Quick with { Epochs = 3 }, dir.Path);
        var p = TrainingCheckpoint.Load(Path.Combine(dir.Path, Trainer.CheckpointFile)).Parameters;
        using var head = HeadModel.Load(dir.Path);
        var probs = head.PredictProbabilities(data.Features);
        for (var i = 0; i < data.Count; i++)
        {
            var z = new double[3];
            for (var c = 0; c < 3; c++)
            {
                z[c] = p["output.bias"][c];
                for (var d = 0; d < 4; d++) z[c] += data.Features[i * 4 + d] * p["output.weight"][d * 3 + c];
            }
            var sum = z.Sum(Math.Exp);
            for (var c = 0; c < 3; c++) Assert.Equal(Math.Exp(z[c]) / sum, probs[i * 3 + c], 5);
        }
    }

    [Fact]
    public void Binary_and_multilabel_heads_train_and_predict()
    {
        using var binDir = new TempDir();
        var binary = SyntheticData.Blobs(30, 2, 4, separation: 3, seed: 10);
        Trainer.Fit(binary, null, Quick with { Spec = HeadSpec.Parse("mlp:8+layernorm") }, binDir.Path);
        using (var head = HeadModel.Load(binDir.Path))
        {
            var probs = head.PredictProbabilities(binary.Features);
            Assert.Equal(binary.Count * 2, probs.Length);
            for (var i = 0; i < binary.Count; i++) Assert.Equal(1f, probs[2 * i] + probs[2 * i + 1], 5);
            Assert.True(SyntheticData.Accuracy(head.PredictClasses(binary.Features), binary.ClassIndex!) > 0.9);
        }

        // Multi-label: label k is on when feature k is positive.
        var rng = new Random(11);
        const int N = 200, D = 4, L = 3;
        var x = Enumerable.Range(0, N * D).Select(_ => (float)SyntheticData.Gaussian(rng)).ToArray();
        var y = new float[N * L];
        for (var i = 0; i < N; i++) for (var k = 0; k < L; k++) y[i * L + k] = x[i * D + k] > 0 ? 1 : 0;
        var multi = TrainingSet.MultiLabel(x, D, y, ["a", "b", "c"]);
        using var mlDir = new TempDir();
        var result = Trainer.Fit(multi, null, Quick with { Epochs = 30, LearningRate = 0.05 }, mlDir.Path);
        Assert.Equal(HeadTask.MultiLabel, result.Info.Task);
        using var ml = HeadModel.Load(mlDir.Path);
        var p = ml.PredictProbabilities(x);
        var correct = Enumerable.Range(0, N * L).Count(j => (p[j] > 0.5f) == (y[j] > 0.5f));
        Assert.True(correct > 0.95 * N * L, $"{correct} of {N * L} label decisions correct");
    }

    [Fact]
    public void Early_stopping_restores_the_best_epoch()
    {
        var data = SyntheticData.Blobs(30, 3, 6, separation: 1.5, seed: 12);
        using var dir = new TempDir();
        // A large learning rate with a big MLP overfits quickly; patience 2 must stop well before 60 epochs.
        var result = Trainer.Fit(data, null, Quick with
        {
            Spec = HeadSpec.Parse("mlp:64,64"), Epochs = 60, LearningRate = 0.02, ValidationFraction = 0.3, Patience = 2,
            Schedule = LearningRateSchedule.Constant,
        }, dir.Path);
        var ck = TrainingCheckpoint.Load(Path.Combine(dir.Path, Trainer.CheckpointFile));
        Assert.True(ck.Stopped);
        Assert.Equal(ck.BestEpoch + 2, ck.Epoch);
        Assert.Equal(result.History.Min(h => h.ValLoss), result.History[ck.BestEpoch - 1].ValLoss);
        Assert.Equal(ck.BestEpoch, result.Info.Metrics.BestEpoch);
        // eval.onnx holds the best epoch's weights, not the last.
        using var head = HeadModel.Load(dir.Path);
        var w = OnnxTransfer.Onnx.OnnxTensor.ToFloats(head.EvalModel.Graph.Initializer.Single(t => t.Name == "output.weight"));
        Assert.Equal(ck.BestParameters["output.weight"], w);
        Assert.NotEqual(ck.Parameters["output.weight"], w);
    }

    internal static void AssertSameTensors(Dictionary<string, float[]> a, Dictionary<string, float[]> b)
    {
        Assert.Equal(a.Keys.Order(), b.Keys.Order());
        foreach (var (name, values) in a)
            Assert.True(values.AsSpan().SequenceEqual(b[name]), $"tensor '{name}' differs");
    }

    private sealed class SyncProgress(Action<ProgressUpdate> report) : IProgress<ProgressUpdate>
    {
        public void Report(ProgressUpdate value) => report(value);
    }
}
