using System.Diagnostics;

namespace OnnxTransfer.Training.Engine;

/// <summary>What <see cref="TrainingLoop.Run"/> runs: epochs, batches, schedule, early stopping, reporting.</summary>
/// <param name="Epochs">Epochs of the whole run (a resumed run continues to this count).</param>
/// <param name="BatchSize">Rows per step.</param>
/// <param name="LearningRate">The schedule: rate for a 0-based step of a total step count.</param>
/// <param name="Patience">Epochs without improvement before stopping (0 = never).</param>
/// <param name="Monitor">What early stopping watches.</param>
/// <param name="ProgressStage">Stage name of the progress events ("train", "fine-tune").</param>
/// <param name="Diverged">Builds the error for a non-finite loss or weights: (what went non-finite, 1-based epoch).</param>
/// <param name="StageLength">Epochs per unfreezing stage; 0 trains every group from the first epoch.</param>
internal sealed record LoopSettings(int Epochs, int BatchSize, Func<long, long, double> LearningRate, int Patience, ValidationMetric Monitor,
    string ProgressStage, Func<string, int, Exception> Diverged, int StageLength = 0);

/// <summary>What <see cref="TrainingLoop.Run"/> did in this call (a resumed run counts only its own epochs).</summary>
/// <param name="EpochsRun">Epochs trained in this call.</param>
/// <param name="TrainingTime">Time spent in those epochs (batches and validation).</param>
internal sealed record LoopOutcome(int EpochsRun, TimeSpan TrainingTime);

/// <summary>
/// The one training loop (fastai's <c>Learner.fit</c>): epochs of seeded shuffled mini-batches, the learning-rate
/// schedule, parameter groups with their own rates and stages (gradual unfreezing), validation, early stopping with the
/// best epoch's parameters kept, a checkpoint after every epoch and typed progress events. Head training, fine-tuning,
/// wake-word training and learning curves all train through it. Everything random comes from the state's generator, so
/// a run resumed from its checkpoint ends bit-identical to an uninterrupted one.
/// </summary>
internal static class TrainingLoop
{
    /// <summary>
    /// Trains <paramref name="session"/> on <paramref name="data"/> from <paramref name="state"/> (epoch, step, generator,
    /// early-stopping state; updated in place) until the epochs run out or early stopping ends the run.
    /// </summary>
    /// <param name="validate">Validation loss and accuracy with the current parameters, or null without validation.</param>
    /// <param name="onEpochEnd">Called with the state after every epoch (checkpointing), before the progress event.</param>
    public static LoopOutcome Run(TrainingSession session, ITrainingData data, Func<TrainingSession, (double Loss, double Accuracy)>? validate,
        TrainingCheckpoint state, LoopSettings settings, Action<TrainingCheckpoint>? onEpochEnd, IProgress<ProgressUpdate>? progress, CancellationToken ct)
    {
        var options = settings;
        var groups = session.Groups;
        var finalStage = groups.Count == 0 ? 0 : groups.Max(g => g.Stage);
        var finalStageStart = finalStage * settings.StageLength + 1;
        state.GroupSteps ??= groups.Select(_ => state.Step).ToArray();
        var rng = SeededRandom.FromState(state.RandomState);
        var batches = (data.Count + options.BatchSize - 1) / options.BatchSize;
        var totalSteps = (long)batches * options.Epochs;
        var order = new int[data.Count];
        var clock = new Stopwatch();
        var epochsRun = 0;
        for (var epoch = state.Epoch + 1; epoch <= options.Epochs && !state.Stopped; epoch++)
        {
            clock.Start();
            var stage = StageOf(epoch, settings.StageLength, finalStage);
            // A fresh permutation every epoch (not a shuffle of the last one), so a resumed run needs only the generator state.
            for (var i = 0; i < order.Length; i++) order[i] = i;
            rng.Shuffle(order.AsSpan());
            double lossSum = 0, weightSum = 0, correct = 0, decisions = 0, lr = 0;
            for (var start = 0; start < order.Length; start += options.BatchSize)
            {
                ct.ThrowIfCancellationRequested();
                var rows = order.AsSpan(start, Math.Min(options.BatchSize, order.Length - start)).ToArray();
                float loss;
                float[] logits;
                using (var inputs = data.Batch(rows, epoch, rng))
                    (loss, logits) = session.Forward(inputs.Values, gradients: true);
                if (!float.IsFinite(loss)) throw settings.Diverged($"loss {loss}", epoch);
                var weight = data.Weight(rows);
                lossSum += loss * weight;
                weightSum += weight;
                var (c, d) = data.Score(logits, rows);
                correct += c; decisions += d;
                lr = options.LearningRate(state.Step, totalSteps);
                // Groups of later stages are not touched at all: no step, no weight decay, their optimizer state stays zero.
                for (var g = 0; g < groups.Count; g++)
                    if (groups[g].Stage <= stage)
                        session.Update(g, lr * groups[g].LearningRateFactor, ++state.GroupSteps[g]);
                state.Step++;
            }
            var (valLoss, valAccuracy) = validate is null ? ((double?)null, (double?)null) : validate(session);
            clock.Stop();
            epochsRun++;
            var metrics = new EpochMetrics(epoch, weightSum == 0 ? 0 : lossSum / weightSum, decisions == 0 ? 0 : correct / decisions, valLoss, valAccuracy, lr);
            state.History.Add(metrics);
            state.Epoch = epoch;
            state.RandomState = rng.State;
            state.Parameters = session.Read(session.Parameters.Select(p => p.Name));
            state.OptimizerState = session.Read(session.OptimizerStateNames);
            if (valLoss is { } v && !double.IsFinite(v)) throw settings.Diverged($"validation loss {v}", epoch);
            if (!session.ParametersFinite()) throw settings.Diverged("non-finite weights", epoch);
            if (valLoss is not null) TrackBest(state, metrics, options, finalStageStart);
            onEpochEnd?.Invoke(state);
            var stageText = settings.StageLength == 0 ? "" : stage == 0 ? "head only, " : $"head + {stage} layer(s), ";
            progress?.Report(new ProgressUpdate(settings.ProgressStage, epoch, options.Epochs, "epochs", stageText + Describe(metrics)));
            ct.ThrowIfCancellationRequested();
        }
        return new LoopOutcome(epochsRun, clock.Elapsed);
    }

    /// <summary>The unfreezing stage of 1-based <paramref name="epoch"/>.</summary>
    public static int StageOf(int epoch, int stageLength, int finalStage) =>
        stageLength == 0 ? finalStage : Math.Min((epoch - 1) / stageLength, finalStage);

    /// <summary>
    /// Early stopping on <see cref="LoopSettings.Monitor"/> (accuracy ties go to the lower loss): keeps the best epoch's
    /// parameters and stops after <see cref="LoopSettings.Patience"/> epochs without improvement, counted from the best
    /// epoch but never from before the last unfreezing stage began.
    /// </summary>
    private static void TrackBest(TrainingCheckpoint state, EpochMetrics m, LoopSettings options, int finalStageStart)
    {
        var score = options.Monitor == ValidationMetric.Loss ? m.ValLoss!.Value : -m.ValAccuracy!.Value;
        var improved = score < state.BestScore
            || (score == state.BestScore && state.BestEpoch > 0 && m.ValLoss < state.History[state.BestEpoch - 1].ValLoss);
        if (improved)
        {
            (state.BestScore, state.BestEpoch, state.EpochsSinceBest) = (score, m.Epoch, 0);
            state.BestParameters = state.Parameters.ToDictionary(p => p.Key, p => p.Value.ToArray(), StringComparer.Ordinal);
            return;
        }
        state.EpochsSinceBest = m.Epoch - Math.Max(state.BestEpoch, finalStageStart - 1);
        if (options.Patience > 0 && state.EpochsSinceBest >= options.Patience) state.Stopped = true;
    }

    private static string Describe(EpochMetrics m) => FormattableString.Invariant(
        $"loss {m.TrainLoss:0.0000}, acc {m.TrainAccuracy:0.000}") +
        (m.ValLoss is { } vl ? FormattableString.Invariant($", val loss {vl:0.0000}, val acc {m.ValAccuracy:0.000}") : "");
}
