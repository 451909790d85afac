using OnnxTransfer.Training.Engine;
using OnnxTransfer.Training.Heads;

namespace OnnxTransfer.Tests.Training;

public class LinearHeadSolverTests
{
    private static readonly TrainingOptions Solver = new()
    {
        Optimizer = new OptimizerSettings { Kind = OptimizerKind.Lbfgs }, ClassWeighting = ClassWeighting.None, Seed = 3,
    };

    [Fact]
    public void Lbfgs_finds_the_minimum_of_an_ill_conditioned_quadratic()
    {
        // f(x) = ½ Σ a_i (x_i − c_i)², condition number 10⁴: the minimum is c.
        var a = Enumerable.Range(0, 50).Select(i => Math.Pow(10, 4.0 * i / 49)).ToArray();
        var c = Enumerable.Range(0, 50).Select(i => Math.Sin(i + 1)).ToArray();
        double F(ReadOnlySpan<double> x, Span<double> g)
        {
            double f = 0;
            for (var i = 0; i < x.Length; i++) { var d = x[i] - c[i]; f += 0.5 * a[i] * d * d; g[i] = a[i] * d; }
            return f;
        }
        var x = new double[50];
        var result = Lbfgs.Minimize(F, x, new LbfgsSettings(GradientTolerance: 1e-6, MaxIterations: 1000));
        Assert.True(result.Converged, $"stopped after {result.Iterations} iterations, gradient {result.GradientNorm}");
        for (var i = 0; i < 50; i++) Assert.Equal(c[i], x[i], 1e-6);
    }

    [Theory]
    [InlineData(2)]
    [InlineData(3)]
    public void Head_is_at_the_optimum_of_the_regularised_loss(int classes)
    {
        // Without validation rows the strength is 1/N on standardised features, i.e. λ·σ_d² on raw weight d.
        var data = SyntheticData.Blobs(60, classes, 5, separation: 2, seed: 11, shift: 3);
        using var dir = new TempDir();
        var result = Trainer.Fit(data, null, Solver with { ValidationFraction = 0 }, dir.Path);
        Assert.Equal(1.0 / data.Count, result.Info.Metrics.L2!.Value, 12);
        AssertAtOptimum(data, dir.Path, result.Info.Metrics.L2!.Value, classes == 2, tolerance: 2e-4);
    }

    [Fact]
    public void Chosen_l2_has_the_lowest_validation_loss_on_the_path()
    {
        // Few noisy rows in many dimensions: strong and weak penalties both lose, so the path turns.
        var train = SyntheticData.Blobs(15, 2, 40, separation: 1.5, seed: 21);
        var val = SyntheticData.Blobs(40, 2, 40, separation: 1.5, seed: 22);
        using var dir = new TempDir();
        var result = Trainer.Fit(train, val, Solver, dir.Path);
        var losses = result.History.Select(h => h.ValLoss!.Value).ToArray();
        var best = Array.IndexOf(losses, losses.Min());
        Assert.Equal(best + 1, result.Info.Metrics.BestEpoch);
        Assert.Equal(LinearHeadSolver.PathScales[best] / train.Count, result.Info.Metrics.L2!.Value, 12);
        // The path stops at the first rise (or runs out), and the given validation rows are never trained on.
        Assert.True(losses.Length == LinearHeadSolver.PathScales.Length || losses[^1] > losses[^2]);
        Assert.Equal(0, result.Info.Metrics.RefitRows);
        Assert.Equal(OptimizerKind.Lbfgs, HeadInfo.Load(dir.Path).Training.Optimizer.Kind);
    }

    [Fact]
    public void Head_kept_with_given_validation_rows_is_the_validated_solve()
    {
        // The chosen strength was judged on the path's solve; the head written must be that solve, so its loss on the
        // validation rows (computed here in float64 from the saved weights) is the best loss on the path.
        var train = SyntheticData.Blobs(15, 2, 40, separation: 1.5, seed: 21);
        var val = SyntheticData.Blobs(40, 2, 40, separation: 1.5, seed: 22);
        using var dir = new TempDir();
        var result = Trainer.Fit(train, val, Solver, dir.Path);
        var p = TrainingCheckpoint.Load(Path.Combine(dir.Path, Trainer.CheckpointFile)).Parameters;
        var loss = BinaryLoss(val, p["output.weight"], p["output.bias"]);
        var best = result.History.Min(h => h.ValLoss!.Value);
        Assert.Equal(best, result.Info.Metrics.ValLoss!.Value, 12);
        Assert.Equal(best, loss, 5);
    }

    [Fact]
    public void One_standard_error_rule_keeps_the_strongest_strength_the_folds_cannot_tell_from_the_best()
    {
        // Strongest first. The lowest mean is at 3 (0.40 ± 0.03): 2 (0.42) is within one standard error, 1 (0.50) is not.
        Assert.Equal(2, L2CrossValidation.OneStandardError([0.9, 0.5, 0.42, 0.40, 0.45], [0.01, 0.01, 0.01, 0.03, 0.02]));
        // A tight minimum keeps itself; a minimum at the strong end keeps itself.
        Assert.Equal(3, L2CrossValidation.OneStandardError([0.9, 0.5, 0.42, 0.40, 0.45], [0.01, 0.01, 0.01, 0.001, 0.02]));
        Assert.Equal(0, L2CrossValidation.OneStandardError([0.3, 0.5, 0.6], [0.05, 0.05, 0.05]));
    }

    [Fact]
    public void Few_rows_are_cross_validated_and_the_head_solves_all_of_them_at_the_chosen_strength()
    {
        var data = SyntheticData.Blobs(30, 2, 20, separation: 1.5, seed: 51);
        Assert.True(L2CrossValidation.AppliesTo(data));
        using var dir = new TempDir();
        var result = Trainer.Fit(data, null, Solver, dir.Path);
        using var sessions = OnnxTransfer.Runtime.SessionFactory.ForTraining(OnnxTransfer.Runtime.ExecutionDevice.Cpu, 1);
        var path = L2CrossValidation.Run(data, Trainer.WithTask(data, null, Solver), sessions, null, default);

        // The head records the cross-validated choice (one-standard-error rule over the fold means) and was fit on every row.
        Assert.Equal(path.Chosen, L2CrossValidation.OneStandardError(path.MeanLoss, path.StandardError));
        Assert.Equal(path.Scales[path.Chosen] / data.Count, result.Info.Metrics.L2!.Value, 12);
        Assert.Equal(path.Chosen + 1, result.Info.Metrics.BestEpoch);
        Assert.Equal(data.Count, result.Info.Metrics.RefitRows);
        Assert.Equal(path.MeanLoss, result.History.Select(h => h.ValLoss!.Value).ToArray());
        // The path stops after two rises of the mean validation loss (or runs out).
        var m = path.MeanLoss;
        Assert.True(m.Length == L2CrossValidation.Scales.Length || (m[^1] >= m[..^2].Min() && m[^2] >= m[..^2].Min()));

        // And the head is at the optimum of the loss on all rows with that strength (to the path's stopping tolerance).
        AssertAtOptimum(data, dir.Path, result.Info.Metrics.L2!.Value, binary: true, tolerance: 3e-3);
    }

    [Fact]
    public void Cross_validation_chooses_a_stronger_penalty_for_noisy_rows_in_many_dimensions()
    {
        // Few rows, many noise dimensions: a weak penalty overfits. Many rows, few clean dimensions: little to shrink.
        var noisy = SyntheticData.Blobs(15, 2, 80, separation: 1.0, seed: 61);
        var clean = SyntheticData.Blobs(150, 2, 4, separation: 3, seed: 62);
        using var a = new TempDir();
        using var b = new TempDir();
        var noisyScale = Trainer.Fit(noisy, null, Solver, a.Path).Info.Metrics.L2!.Value * noisy.Count;
        var cleanScale = Trainer.Fit(clean, null, Solver, b.Path).Info.Metrics.L2!.Value * clean.Count;
        Assert.True(noisyScale > 10 * cleanScale, $"noisy {noisyScale}/N, clean {cleanScale}/N");
    }

    [Fact]
    public void Many_rows_or_a_class_too_small_for_the_folds_keep_the_carve()
    {
        Assert.False(L2CrossValidation.AppliesTo(SyntheticData.Blobs(1001, 2, 2, separation: 2, seed: 71)));
        var features = new float[12];
        Assert.False(L2CrossValidation.AppliesTo(TrainingSet.SingleLabel(features, 1, [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1], ["a", "b"])));
        Assert.True(L2CrossValidation.AppliesTo(TrainingSet.SingleLabel(features, 1, [0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1], ["a", "b"])));
    }

    [Fact]
    public void Grouped_rows_keep_each_group_in_one_fold_and_one_side_of_the_carve()
    {
        // 40 rows, 2 classes, 8 groups (people) of 5 rows: folds and the carve must never split a person.
        var data = SyntheticData.Blobs(20, 2, 3, separation: 2, seed: 5);
        var groups = Enumerable.Range(0, 40).Select(i => $"person{i % 8}").ToArray();
        var grouped = data.WithGroups(groups);
        var folds = grouped.FoldRows(L2CrossValidation.Folds, 3);
        Assert.All(Enumerable.Range(0, 40).GroupBy(i => groups[i]), g => Assert.Single(g.Select(i => folds[i]).Distinct()));
        Assert.True(folds.Distinct().Count() > 1);
        var (train, val) = grouped.SplitRows(0.25, 3);
        Assert.NotEmpty(val);
        Assert.Empty(train.Select(i => groups[i]).Intersect(val.Select(i => groups[i])));
        // Subsets keep their rows' groups; the cross-validation needs a group per fold in every class.
        var firstRows = val.Order().ToArray();
        Assert.Equal(firstRows.Select(i => groups[i]), grouped.Subset(firstRows).Groups!);
        Assert.True(L2CrossValidation.AppliesTo(data));
        var labels = Enumerable.Range(0, 40).Select(i => i % 2).ToArray();
        var fourPeople = TrainingSet.SingleLabel(data.Features, data.Dimension, labels, ["a", "b"]).WithGroups(Enumerable.Range(0, 40).Select(i => $"p{i % 4}").ToArray());
        Assert.False(L2CrossValidation.AppliesTo(fourPeople)); // every class seen by 2 people: fewer than 5 folds' worth
    }

    [Fact]
    public void Reruns_and_resume_give_the_same_head_bit_for_bit()
    {
        var data = SyntheticData.Blobs(40, 3, 6, separation: 1.5, seed: 31);
        using var a = new TempDir();
        using var b = new TempDir();
        var first = Trainer.Fit(data, null, new TrainingOptions { Seed = 5 }, a.Path); // the default for a linear head
        Trainer.Fit(data, null, new TrainingOptions { Seed = 5 }, b.Path);
        Assert.Equal(OptimizerKind.Lbfgs, first.Info.Training.Optimizer.Kind);
        Assert.True(first.Info.Metrics.RefitRows == data.Count, "the trainer's own hold-out is refitted on");
        var evalA = File.ReadAllBytes(Path.Combine(a.Path, Trainer.EvalGraphFile));
        Assert.Equal(evalA, File.ReadAllBytes(Path.Combine(b.Path, Trainer.EvalGraphFile)));
        Assert.Equal(File.ReadAllBytes(Path.Combine(a.Path, Trainer.CheckpointFile)), File.ReadAllBytes(Path.Combine(b.Path, Trainer.CheckpointFile)));

        // Resume solves again from the recorded options: the same head.
        var resumed = Trainer.Resume(a.Path, data, null);
        Assert.Equal(first.Info.Metrics.L2, resumed.Info.Metrics.L2);
        Assert.Equal(evalA, File.ReadAllBytes(Path.Combine(a.Path, Trainer.EvalGraphFile)));
    }

    [Fact]
    public void Continue_from_a_mini_batch_head_reaches_the_same_optimum_as_a_fresh_solve()
    {
        var data = SyntheticData.Blobs(50, 2, 6, separation: 1.5, seed: 41);
        var options = Solver with { ValidationFraction = 0 };
        using var adam = new TempDir();
        using var continued = new TempDir();
        using var fresh = new TempDir();
        Trainer.Fit(data, null, options with { Optimizer = new OptimizerSettings { Kind = OptimizerKind.AdamW }, Epochs = 3 }, adam.Path);
        Trainer.Continue(adam.Path, data, null, options, continued.Path);
        Trainer.Fit(data, null, options, fresh.Path);
        var c = TrainingCheckpoint.Load(Path.Combine(continued.Path, Trainer.CheckpointFile)).Parameters["output.weight"];
        var f = TrainingCheckpoint.Load(Path.Combine(fresh.Path, Trainer.CheckpointFile)).Parameters["output.weight"];
        for (var i = 0; i < f.Length; i++) Assert.Equal(f[i], c[i], 2e-3);
    }

    [Fact]
    public void Lbfgs_refuses_a_head_with_hidden_layers()
    {
        using var dir = new TempDir();
        var e = Assert.Throws<OnnxTransferException>(() => Trainer.Fit(SyntheticData.Blobs(10, 2, 3, 3, 3), null,
            Solver with { Spec = HeadSpec.Parse("mlp:8") }, dir.Path));
        Assert.Contains("--optimizer adamw", e.Message);
        using var auto = new TempDir();
        var mlp = Trainer.Fit(SyntheticData.Blobs(10, 2, 3, 3, 3), null, new TrainingOptions { Spec = HeadSpec.Parse("mlp:8"), Epochs = 2 }, auto.Path);
        Assert.Equal(OptimizerKind.AdamW, mlp.Info.Training.Optimizer.Kind);
    }

    /// <summary>Mean logistic loss of a one-logit head on <paramref name="data"/>, in float64.</summary>
    private static double BinaryLoss(TrainingSet data, float[] w, float[] b)
    {
        double sum = 0;
        for (var i = 0; i < data.Count; i++)
        {
            double z = b[0];
            for (var j = 0; j < data.Dimension; j++) z += data.Features[i * data.Dimension + j] * (double)w[j];
            // log(1 + e^-z) for class 1, log(1 + e^z) for class 0, written to stay finite.
            var m = data.ClassIndex![i] == 1 ? -z : z;
            sum += Math.Max(m, 0) + Math.Log(1 + Math.Exp(-Math.Abs(m)));
        }
        return sum / data.Count;
    }

    /// <summary>
    /// Gradient, computed here in float64, of mean cross-entropy + λ/2·Σ_d (σ_d·W_d)² at raw-feature parameters
    /// (σ_d: the population standard deviation of feature d), weights then biases.
    /// </summary>
    /// <summary>The saved head's loss gradient (float64, raw features) is below <paramref name="tolerance"/> everywhere.</summary>
    private static void AssertAtOptimum(TrainingSet data, string headDir, double l2, bool binary, double tolerance)
    {
        var p = TrainingCheckpoint.Load(Path.Combine(headDir, Trainer.CheckpointFile)).Parameters;
        var gradient = RawGradient(data, p["output.weight"], p["output.bias"], l2, binary);
        Assert.True(gradient.Max(Math.Abs) < tolerance, $"largest gradient component {gradient.Max(Math.Abs):E2}");
    }

    private static double[] RawGradient(TrainingSet data, float[] w, float[] b, double l2, bool binary)
    {
        var (n, d) = (data.Count, data.Dimension);
        var outputs = b.Length;
        var g = new double[w.Length + b.Length];
        var z = new double[outputs];
        for (var i = 0; i < n; i++)
        {
            for (var o = 0; o < outputs; o++)
            {
                z[o] = b[o];
                for (var j = 0; j < d; j++) z[o] += data.Features[i * d + j] * (double)w[j * outputs + o];
            }
            var y = data.ClassIndex![i];
            var dz = new double[outputs];
            if (binary) dz[0] = 1 / (1 + Math.Exp(-z[0])) - y;
            else
            {
                var max = z.Max();
                var sum = z.Sum(v => Math.Exp(v - max));
                for (var o = 0; o < outputs; o++) dz[o] = Math.Exp(z[o] - max) / sum - (o == y ? 1 : 0);
            }
            for (var o = 0; o < outputs; o++)
            {
                g[w.Length + o] += dz[o] / n;
                for (var j = 0; j < d; j++) g[j * outputs + o] += dz[o] * data.Features[i * d + j] / n;
            }
        }
        for (var j = 0; j < d; j++)
        {
            var column = Enumerable.Range(0, n).Select(i => (double)data.Features[i * d + j]).ToArray();
            var mean = column.Average();
            var variance = column.Sum(v => (v - mean) * (v - mean)) / n;
            for (var o = 0; o < outputs; o++) g[j * outputs + o] += l2 * variance * w[j * outputs + o];
        }
        return g;
    }
}
