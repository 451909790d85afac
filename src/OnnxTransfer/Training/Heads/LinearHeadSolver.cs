using System.Globalization;

using OnnxTransfer.Runtime;
using OnnxTransfer.Training.Engine;

namespace OnnxTransfer.Training.Heads;

/// <summary>
/// Trains a linear head (softmax / logistic regression on frozen features) to the optimum of its convex loss
/// instead of stopping on a noisy mini-batch curve: full-batch <see cref="Lbfgs"/> on the class-weighted
/// cross-entropy + L2/2·‖W‖², with loss and gradient from the head's own ONNX training graph in float64.
/// </summary>
/// <remarks>
/// The L2 strength is chosen on the validation rows: a path of strengths <c>c/N</c> (<see cref="PathScales"/>,
/// half-decade steps), strongest first, each solve warm-started from the previous one, keeping the lowest validation
/// loss and stopping the path after two rises in a row (the validation loss along such a path is U-shaped in practice, and
/// the weak end is where the solves get long). Validation judges the path's solve, stopping rule included (<see cref="PathSettings"/>),
/// so that solve is what is kept: with given validation rows it is the head; when the validation rows were carved out
/// of the training rows here, the head is the same solve repeated on all of them with the chosen strength, warm-started
/// and stopped by the same rule (validation metrics stay those of the fit that chose it). When the trainer would carve
/// from few rows (<see cref="L2CrossValidation.AppliesTo"/>), the strength is chosen by 5-fold cross-validation instead and
/// the head walks the path on all rows down to it (history and validation metrics are the folds' means). Without validation rows the
/// strength is <c>1/N</c>, solved to <see cref="FinalSettings"/>. Features are standardised for the solve
/// (better conditioning, and the penalty then treats every feature alike) and the weights mapped back afterwards,
/// so the exported head reads raw features. Nothing is random apart from the seeded split, so a rerun gives the
/// same head bit for bit; <c>Resume</c> therefore simply solves again.
/// </remarks>
internal static class LinearHeadSolver
{
    /// <summary>The strengths tried, as multiples of 1/N (N = training rows), strongest first.</summary>
    internal static readonly double[] PathScales = [100, 30, 10, 3, 1, 0.3, 0.1, 0.03, 0.01, 0.003, 0.001];

    /// <summary>
    /// Stopping rule of the solves along the path and of the refit: part of the estimator that validation judges. A refit
    /// to <see cref="FinalSettings"/> changes held-out accuracy by at most one image per split on chest X-ray and
    /// hymenoptera and takes a third more iterations.
    /// </summary>
    internal static readonly LbfgsSettings PathSettings = new(GradientTolerance: 1e-3, MaxIterations: 300);

    /// <summary>Stopping rule of the one solve when there are no validation rows to choose a strength.</summary>
    internal static readonly LbfgsSettings FinalSettings = new(GradientTolerance: 1e-4, MaxIterations: 500);

    /// <summary>Solves, writes the head files into <paramref name="work"/> and returns the result.</summary>
    public static TrainingResult Train(TrainingSet train, TrainingSet? val, TrainingOptions options, string headDir, string work,
        IReadOnlyDictionary<string, float[]>? warmStart, SessionFactory? sessions, IProgress<ProgressUpdate>? progress, CancellationToken ct)
    {
        if (!options.Spec.IsLinear)
            throw new OnnxTransferException($"training: the L-BFGS solver trains linear heads only; use --optimizer adamw for '{options.Spec}'.");
        options = Trainer.WithTask(train, val, options);
        var task = options.Task!.Value;

        var all = train;
        var ownSplit = false;
        var crossValidate = val is null && options.ValidationFraction > 0 && L2CrossValidation.AppliesTo(train);
        if (val is null && options.ValidationFraction > 0 && !crossValidate)
        {
            var (t, v) = train.SplitRows(options.ValidationFraction, options.Seed);
            if (v.Length > 0) { val = train.Subset(v); train = train.Subset(t); ownSplit = true; }
        }
        var dim = train.Dimension;
        var classes = train.Classes.Length;
        HeadGraphBuilder.BuildTraining(options.Spec, task, dim, classes, options.LabelSmoothing).Save(Path.Combine(work, Trainer.TrainGraphFile));
        Describe(new TrainingCheckpoint(), options, train, val, null, 0).Save(work);
        var parameters = HeadGraphBuilder.Parameters(options.Spec, task, dim, classes);
        OptimizerGraph.Build(parameters, options.Optimizer with { Kind = OptimizerKind.AdamW }).Save(Path.Combine(work, Trainer.OptimizerGraphFile));

        var scaling = FeatureScaling.Fit(train);
        using var owned = sessions is null ? SessionFactory.ForTraining(ExecutionDevice.Cpu, options.Threads) : null;
        var sessionFactory = sessions ?? owned!;
        var state = new TrainingCheckpoint { RandomState = new SeededRandom(options.Seed).State };
        double[] x;
        double chosenL2;
        var iterations = 0;
        if (crossValidate)
        {
            var (solved, path) = CrossValidated(train, options, parameters, scaling, warmStart, headDir, sessionFactory, state, work, progress, ct);
            var crossInfo = Describe(state, options, train, null, path.Scales[path.Chosen] / train.Count, train.Count);
            return Finish(crossInfo with { Metrics = crossInfo.Metrics with { BestEpoch = state.BestEpoch, ValLoss = path.MeanLoss[path.Chosen], ValAccuracy = path.MeanValAccuracy[path.Chosen], TrainLoss = path.MeanTrainLoss[path.Chosen], TrainAccuracy = path.MeanTrainAccuracy[path.Chosen] } },
                state, scaling.ToRaw(solved, parameters), options, task, dim, classes, headDir, work);
        }
        using (var objective = Objective(options, task, train, scaling, sessionFactory))
        {
            x = warmStart is null ? new double[objective.Size] : scaling.ToScaled(Flatten(parameters, warmStart, headDir), parameters);
            var scales = val is null ? [1.0] : PathScales;
            using var validation = val is null ? null : ValidationObjective(options, task, val, scaling, sessionFactory);
            double[]? best = null;
            double bestLoss = double.PositiveInfinity;
            var rises = 0;
            for (var k = 0; k < scales.Length; k++)
            {
                objective.L2 = scales[k] / train.Count;
                var solved = Lbfgs.Minimize(objective.Evaluate, x, val is null ? FinalSettings : PathSettings, ct);
                iterations += solved.Iterations;
                var (trainLoss, trainLogits) = objective.Score(x);
                var (valLoss, valLogits) = validation is null ? ((double?)null, (double[]?)null) : validation.Score(x);
                var metrics = new EpochMetrics(k + 1, trainLoss, Accuracy(task, trainLogits, train), valLoss,
                    validation is null ? null : Accuracy(task, valLogits!, val!), 0);
                state.History.Add(metrics);
                state.Epoch = k + 1;
                state.Step = iterations;
                if (!double.IsFinite(trainLoss) || valLoss is { } vl && !double.IsFinite(vl))
                    throw Diverged(headDir, trainLoss);
                if ((valLoss ?? trainLoss) < bestLoss)
                {
                    bestLoss = valLoss ?? trainLoss;
                    best = (double[])x.Clone();
                    state.BestEpoch = k + 1;
                    state.BestScore = bestLoss;
                    rises = 0;
                }
                else rises++;
                state.Parameters = scaling.ToRaw(x, parameters);
                state.BestParameters = scaling.ToRaw(best!, parameters);
                state.Save(Path.Combine(work, Trainer.CheckpointFile));
                progress?.Report(new ProgressUpdate("train", k + 1, scales.Length, "l2 strengths",
                    Describe(objective.L2, solved) + ", " + Describe(metrics)));
                if (rises >= 2) { state.Stopped = true; break; }
            }
            chosenL2 = scales[state.BestEpoch - 1] / train.Count;
            Array.Copy(best!, x, x.Length);
        }

        var refitRows = 0;
        if (ownSplit)
        {
            // The hold-out was only for choosing L2: refit on every row, same strength per row (c/N), same stopping rule.
            using var objective = Objective(options, task, all, scaling, sessionFactory);
            objective.L2 = chosenL2 * train.Count / all.Count;
            var solved = Lbfgs.Minimize(objective.Evaluate, x, PathSettings, ct);
            iterations += solved.Iterations;
            state.Step = iterations;
            refitRows = all.Count;
            progress?.Report(new ProgressUpdate("train", state.Epoch, state.Epoch, "l2 strengths", $"refit on all {all.Count} rows: " + Describe(objective.L2, solved)));
        }
        return Finish(Describe(state, options, train, val, chosenL2, refitRows), state, scaling.ToRaw(x, parameters), options, task, dim, classes, headDir, work);
    }

    /// <summary>
    /// The strength chosen by <see cref="L2CrossValidation"/> on all <paramref name="rows"/>, then the head: the same path walked on
    /// all rows down to that strength, warm-started, to <see cref="PathSettings"/>. History rows are the folds' means per strength.
    /// </summary>
    private static (double[] Solution, L2Path Path) CrossValidated(TrainingSet rows, TrainingOptions options, IReadOnlyList<HeadParameter> parameters,
        FeatureScaling scaling, IReadOnlyDictionary<string, float[]>? warmStart, string headDir, SessionFactory sessions, TrainingCheckpoint state,
        string work, IProgress<ProgressUpdate>? progress, CancellationToken ct)
    {
        var path = L2CrossValidation.Run(rows, options, sessions, progress, ct);
        for (var k = 0; k < path.Scales.Length; k++)
            state.History.Add(new EpochMetrics(k + 1, path.MeanTrainLoss[k], path.MeanTrainAccuracy[k], path.MeanLoss[k], path.MeanValAccuracy[k], 0));
        state.Epoch = path.Scales.Length;
        state.BestEpoch = path.Chosen + 1;
        state.BestScore = path.MeanLoss[path.Chosen];
        state.Stopped = path.Scales.Length < L2CrossValidation.Scales.Length;
        using var objective = Objective(options, options.Task!.Value, rows, scaling, sessions);
        var x = warmStart is null ? new double[objective.Size] : scaling.ToScaled(Flatten(parameters, warmStart, headDir), parameters);
        var iterations = path.Iterations;
        for (var k = 0; k <= path.Chosen; k++)
        {
            objective.L2 = path.Scales[k] / rows.Count;
            var solved = Lbfgs.Minimize(objective.Evaluate, x, PathSettings, ct);
            iterations += solved.Iterations;
            if (k == path.Chosen)
                progress?.Report(new ProgressUpdate("train", state.Epoch, state.Epoch, "l2 strengths", $"fit on all {rows.Count} rows: " + Describe(objective.L2, solved)));
        }
        var (loss, _) = objective.Score(x);
        if (!double.IsFinite(loss))
            throw Diverged(headDir, loss);
        state.Step = iterations;
        return (x, path);
    }

    /// <summary>Writes the checkpoint, the eval graph and head.json for the <paramref name="kept"/> raw-feature parameters.</summary>
    private static TrainingResult Finish(HeadInfo info, TrainingCheckpoint state, Dictionary<string, float[]> kept, TrainingOptions options, HeadTask task,
        int dim, int classes, string headDir, string work)
    {
        state.Parameters = kept;
        state.BestParameters = kept.ToDictionary(p => p.Key, p => p.Value.ToArray(), StringComparer.Ordinal);
        state.Save(Path.Combine(work, Trainer.CheckpointFile));
        var eval = HeadGraphBuilder.BuildEval(options.Spec, task, dim, classes, kept);
        info.WriteMetadata(eval);
        eval.Save(Path.Combine(work, Trainer.EvalGraphFile));
        info.Save(work);
        return new TrainingResult(headDir, info, state.History);
    }

    /// <summary>The error for a solve whose loss is not finite; <paramref name="where"/> names the head folder or the step.</summary>
    internal static OnnxTransferException Diverged(string where, double loss) =>
        new($"{where}: the L-BFGS solve diverged (loss {loss}); check the features for extreme values (the previous head is unchanged).");

    /// <summary>Scores validation rows: unweighted, no penalty, features scaled as for training.</summary>
    internal static HeadObjective ValidationObjective(TrainingOptions options, HeadTask task, TrainingSet val, FeatureScaling scaling, SessionFactory sessionFactory) =>
        new(options.Spec, task, val, scaling.Apply(val), Ones(val.Count), 0, sessionFactory);

    internal static HeadObjective Objective(TrainingOptions options, HeadTask task, TrainingSet rows, FeatureScaling scaling, SessionFactory sessionFactory)
    {
        var classWeights = Trainer.ClassWeights(rows, options.ClassWeighting);
        var weights = rows.ClassIndex is { } idx ? idx.Select(c => classWeights[c]).ToArray() : Ones(rows.Count);
        return new HeadObjective(options.Spec, task, rows, scaling.Apply(rows), weights, options.LabelSmoothing, sessionFactory);
    }

    private static float[] Ones(int n) => Enumerable.Repeat(1f, n).ToArray();

    private static double[] Flatten(IReadOnlyList<HeadParameter> parameters, IReadOnlyDictionary<string, float[]> values, string headDir)
    {
        var x = new List<double>();
        foreach (var p in parameters)
        {
            if (!values.TryGetValue(p.Name, out var v) || v.Length != p.Count)
                throw new OnnxTransferException($"{headDir}: checkpoint parameter '{p.Name}' is missing or has the wrong size; it was written for another head spec.");
            x.AddRange(v.Select(f => (double)f));
        }
        return x.ToArray();
    }

    /// <summary>Fraction of correct decisions (multi-label: per label) from float64 logits.</summary>
    internal static double Accuracy(HeadTask task, double[] logits, TrainingSet data)
    {
        var outputs = HeadGraphBuilder.OutputCount(task, data.Classes.Length);
        double correct = 0;
        for (var r = 0; r < data.Count; r++)
        {
            var z = logits.AsSpan(r * outputs, outputs);
            switch (task)
            {
                case HeadTask.Binary:
                    if ((z[0] > 0 ? 1 : 0) == data.ClassIndex![r]) correct++;
                    break;
                case HeadTask.MultiClass:
                    var best = 0;
                    for (var c = 1; c < outputs; c++) if (z[c] > z[best]) best = c;
                    if (best == data.ClassIndex![r]) correct++;
                    break;
                default:
                    for (var c = 0; c < outputs; c++)
                        if ((z[c] > 0) == (data.Targets![r * outputs + c] > 0.5f)) correct++;
                    break;
            }
        }
        return correct / (task == HeadTask.MultiLabel ? (double)data.Count * outputs : data.Count);
    }

    private static HeadInfo Describe(TrainingCheckpoint state, TrainingOptions options, TrainingSet train, TrainingSet? val, double? l2, int refitRows)
    {
        var info = Trainer.Describe(state, options, train, val);
        return info with { Metrics = info.Metrics with { L2 = l2, SolverIterations = state.Step, RefitRows = refitRows } };
    }

    private static string Describe(double l2, LbfgsResult r) => string.Create(CultureInfo.InvariantCulture,
        $"l2 {l2:0.###e0}, {r.Iterations} iterations{(r.Converged ? "" : " (not converged)")}");

    private static string Describe(EpochMetrics m) => FormattableString.Invariant(
        $"loss {m.TrainLoss:0.0000}, acc {m.TrainAccuracy:0.000}") +
        (m.ValLoss is { } vl ? FormattableString.Invariant($", val loss {vl:0.0000}, val acc {m.ValAccuracy:0.000}") : "");
}
