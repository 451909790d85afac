using OnnxTransfer.Features;
using OnnxTransfer.Runtime;
using OnnxTransfer.Training.Engine;

namespace OnnxTransfer.Training.Heads;

/// <summary>Outcome of <see cref="Trainer"/>: where the head is and how training went.</summary>
/// <param name="HeadDirectory">The head directory written.</param>
/// <param name="Info">The head.json contents.</param>
/// <param name="History">Metrics of every epoch run (including those before a resume).</param>
public sealed record TrainingResult(string HeadDirectory, HeadInfo Info, IReadOnlyList<EpochMetrics> History);

/// <summary>
/// Trains a head with the generated ONNX graphs (train.onnx: forward + loss + backward; optimizer.onnx:
/// one update) through the one training engine (<see cref="TrainingSession"/>, <see cref="TrainingLoop"/>), on the
/// device of the caller's <see cref="SessionFactory"/> (CPU by default). Every random choice (initialisation, validation split, shuffling,
/// dropout masks) comes from <see cref="SeededRandom"/> streams derived from the seed, and sessions run
/// sequentially with a fixed thread count, so a seed reproduces the parameters bit for bit, and a run
/// resumed from its checkpoint ends exactly where an uninterrupted one does.
/// </summary>
/// <remarks>
/// A head directory holds train.onnx, eval.onnx (the kept parameters as initializers), optimizer.onnx,
/// checkpoint.bin and head.json. A run writes them into <see cref="PartialPath"/> (checkpoint.bin rewritten
/// after every epoch) and swaps that folder in as a whole when it finishes, so a failed, diverged or killed
/// run leaves the previous head untouched. Cancelling stops at the next batch; the last epoch's checkpoint
/// stays valid for <c>Resume</c>. A lock beside the head keeps two runs from writing it at once.
/// </remarks>
public static class Trainer
{
    /// <summary>Training graph file name.</summary>
    public const string TrainGraphFile = "train.onnx";
    /// <summary>Eval graph file name (self-contained, weights as initializers).</summary>
    public const string EvalGraphFile = "eval.onnx";
    /// <summary>Optimizer graph file name.</summary>
    public const string OptimizerGraphFile = "optimizer.onnx";
    /// <summary>Checkpoint file name.</summary>
    public const string CheckpointFile = "checkpoint.bin";

    /// <summary>The folder an unfinished run into <paramref name="headDir"/> works in until it is swapped in.</summary>
    public static string PartialPath(string headDir) => Path.TrimEndingDirectorySeparator(Path.GetFullPath(headDir)) + ".partial";

    /// <summary>Where <c>Resume</c> reads from: the unfinished run's folder when it holds a checkpoint, else the head.</summary>
    private static string ResumeSource(string headDir) =>
        File.Exists(Path.Combine(PartialPath(headDir), CheckpointFile)) ? PartialPath(headDir) : headDir;

    /// <summary>
    /// Trains a new head on feature tables. Classes are the training table's labels (sorted); with no
    /// <paramref name="val"/> a stratified <see cref="TrainingOptions.ValidationFraction"/> is held out.
    /// Multi-label tables (task MultiLabel) separate a row's labels with ';'.
    /// </summary>
    public static TrainingResult Fit(FeatureTable train, FeatureTable? val, TrainingOptions options, string headDir,
        IProgress<ProgressUpdate>? progress = null, CancellationToken ct = default, SessionFactory? sessions = null) =>
        Fit(train, val, options, headDir, trainGroups: null, progress, ct, sessions);

    /// <summary>
    /// <see cref="Fit(FeatureTable, FeatureTable?, TrainingOptions, string, IProgress{ProgressUpdate}?, CancellationToken, SessionFactory?)"/>
    /// with the group of each training row (<paramref name="trainGroups"/>, in row order, e.g. one patient's scans), which
    /// every hold-out and fold carved from the training rows keeps on one side.
    /// </summary>
    internal static TrainingResult Fit(FeatureTable train, FeatureTable? val, TrainingOptions options, string headDir, string[]? trainGroups,
        IProgress<ProgressUpdate>? progress, CancellationToken ct, SessionFactory? sessions)
    {
        var multiLabel = options.Task == HeadTask.MultiLabel;
        var trainSet = TrainingSet.FromTable(train, null, multiLabel);
        if (trainGroups is not null) trainSet = trainSet.WithGroups(trainGroups);
        var valSet = val is null ? null : TrainingSet.FromTable(val, trainSet.Classes, multiLabel);
        return Fit(trainSet, valSet, options, headDir, progress, ct, sessions);
    }

    /// <summary>Trains a new head on in-memory rows (see the <see cref="FeatureTable"/> overload).</summary>
    /// <param name="sessions">Creates the training sessions (the device); null trains on the CPU with <see cref="TrainingOptions.Threads"/> threads.</param>
    public static TrainingResult Fit(TrainingSet train, TrainingSet? val, TrainingOptions options, string headDir,
        IProgress<ProgressUpdate>? progress = null, CancellationToken ct = default, SessionFactory? sessions = null) =>
        Run(train, val, options, headDir, checkpoint: null, warmStart: null, sessions, progress, ct);

    /// <summary>
    /// Continues an interrupted run from its checkpoint with the same data and options (head.json), to
    /// <paramref name="epochs"/> total epochs when given. The result is identical to an uninterrupted run.
    /// </summary>
    public static TrainingResult Resume(string headDir, TrainingSet train, TrainingSet? val, int? epochs = null,
        IProgress<ProgressUpdate>? progress = null, CancellationToken ct = default, SessionFactory? sessions = null)
    {
        var source = ResumeSource(headDir);
        var info = HeadInfo.Load(source);
        var checkpoint = TrainingCheckpoint.Load(Path.Combine(source, CheckpointFile));
        var options = info.Training with { Epochs = epochs ?? info.Training.Epochs };
        CheckMatches(info, train, headDir);
        return Run(train, val, options, headDir, checkpoint, warmStart: null, sessions, progress, ct);
    }

    /// <summary>Resumes from feature tables (classes taken from the head).</summary>
    public static TrainingResult Resume(string headDir, FeatureTable train, FeatureTable? val, int? epochs = null,
        IProgress<ProgressUpdate>? progress = null, CancellationToken ct = default, SessionFactory? sessions = null)
    {
        var info = HeadInfo.Load(ResumeSource(headDir));
        var multiLabel = info.Task == HeadTask.MultiLabel;
        return Resume(headDir, TrainingSet.FromTable(train, info.Classes, multiLabel),
            val is null ? null : TrainingSet.FromTable(val, info.Classes, multiLabel), epochs, progress, ct, sessions);
    }

    /// <summary>
    /// Fine-tunes an existing head on new data: starts from the head's kept parameters with a fresh
    /// optimizer and schedule for <paramref name="options"/>.Epochs and writes the result to
    /// <paramref name="outputDir"/> (may equal <paramref name="headDir"/>). The spec, task and classes stay the head's.
    /// </summary>
    public static TrainingResult Continue(string headDir, TrainingSet train, TrainingSet? val, TrainingOptions options,
        string outputDir, IProgress<ProgressUpdate>? progress = null, CancellationToken ct = default, SessionFactory? sessions = null)
    {
        var info = HeadInfo.Load(headDir);
        CheckMatches(info, train, headDir);
        var checkpoint = TrainingCheckpoint.Load(Path.Combine(headDir, CheckpointFile));
        RenameLegacy(checkpoint, HeadGraphBuilder.Parameters(info.HeadSpec, info.Task, info.FeatureDimension, info.Classes.Length), []);
        var start = checkpoint.BestParameters.Count > 0 ? checkpoint.BestParameters : checkpoint.Parameters;
        var merged = options with { Spec = info.HeadSpec, Task = info.Task };
        return Run(train, val, merged, outputDir, checkpoint: null, warmStart: start, sessions, progress, ct);
    }

    /// <summary>Continues on feature tables (classes taken from the head).</summary>
    public static TrainingResult Continue(string headDir, FeatureTable train, FeatureTable? val, TrainingOptions options,
        string outputDir, IProgress<ProgressUpdate>? progress = null, CancellationToken ct = default, SessionFactory? sessions = null)
    {
        var info = HeadInfo.Load(headDir);
        var multiLabel = info.Task == HeadTask.MultiLabel;
        return Continue(headDir, TrainingSet.FromTable(train, info.Classes, multiLabel),
            val is null ? null : TrainingSet.FromTable(val, info.Classes, multiLabel), options, outputDir, progress, ct, sessions);
    }

    /// <summary>Per-class sample weights for single-label data (all 1 for multi-label or <see cref="ClassWeighting.None"/>).</summary>
    public static float[] ClassWeights(TrainingSet data, ClassWeighting weighting)
    {
        var c = data.Classes.Length;
        var ones = Enumerable.Repeat(1f, c).ToArray();
        if (data.ClassIndex is null || weighting == ClassWeighting.None) return ones;
        var counts = new int[c];
        foreach (var k in data.ClassIndex) counts[k]++;
        var present = counts.Where(n => n > 0).ToArray();
        if (weighting == ClassWeighting.Auto && present.Max() <= 1.5 * present.Min()) return ones;
        return counts.Select(n => n == 0 ? 0f : (float)((double)data.Count / (present.Length * n))).ToArray();
    }

    private static void CheckMatches(HeadInfo info, TrainingSet train, string headDir)
    {
        if (info.FeatureDimension != train.Dimension)
            throw new OnnxTransferException($"{headDir}: the head reads {info.FeatureDimension}-dimensional features but the data has {train.Dimension}; extract features with the same backbone.");
        if (!info.Classes.SequenceEqual(train.Classes))
            throw new OnnxTransferException($"{headDir}: the head's classes ({string.Join(", ", info.Classes)}) differ from the data's ({string.Join(", ", train.Classes)}); train a new head instead.");
    }

    private static TrainingResult Run(TrainingSet train, TrainingSet? val, TrainingOptions options, string headDir,
        TrainingCheckpoint? checkpoint, IReadOnlyDictionary<string, float[]>? warmStart, SessionFactory? sessions, IProgress<ProgressUpdate>? progress, CancellationToken ct)
    {
        options.Validate();
        options = options with { Optimizer = options.Optimizer.ResolveFor(options.Spec.IsLinear) };
        using var outputLock = OutputLock.Acquire(headDir);
        var work = PartialPath(headDir);
        if (checkpoint is null) AtomicFile.TryDeleteDirectory(work); // a new run discards an older unfinished one
        Directory.CreateDirectory(work);
        try
        {
            // A full-batch solve is short and deterministic: resuming it simply solves again.
            var result = options.Optimizer.Kind == OptimizerKind.Lbfgs
                ? LinearHeadSolver.Train(train, val, options, headDir, work, warmStart, sessions, progress, ct)
                : Train(train, val, options, headDir, work, checkpoint, warmStart, sessions, progress, ct);
            AtomicFile.ReplaceDirectory(work, headDir);
            return result;
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // Killed or cancelled runs keep the folder to resume; a failed one (divergence, full disk) cannot resume.
            AtomicFile.TryDeleteDirectory(work);
            throw;
        }
    }

    private static TrainingResult Train(TrainingSet train, TrainingSet? val, TrainingOptions options, string headDir, string work,
        TrainingCheckpoint? checkpoint, IReadOnlyDictionary<string, float[]>? warmStart, SessionFactory? sessions, IProgress<ProgressUpdate>? progress, CancellationToken ct)
    {
        options = WithTask(train, val, options);
        var task = options.Task!.Value;

        if (val is null && options.ValidationFraction > 0)
        {
            var (t, v) = train.SplitRows(options.ValidationFraction, options.Seed);
            if (v.Length > 0) { val = train.Subset(v); train = train.Subset(t); }
        }
        var classes = train.Classes.Length;
        var dim = train.Dimension;
        var spec = options.Spec;
        var parameters = HeadGraphBuilder.Parameters(spec, task, dim, classes);
        var stateNames = parameters.SelectMany(p => OptimizerGraph.StateNames(options.Optimizer, p.Name)).ToArray();

        var trainModel = HeadGraphBuilder.BuildTraining(spec, task, dim, classes, options.LabelSmoothing);
        trainModel.Save(Path.Combine(work, TrainGraphFile));
        Describe(checkpoint ?? new TrainingCheckpoint(), options, train, val).Save(work); // lets an interrupted run resume
        OptimizerGraph.Build(parameters, options.Optimizer).Save(Path.Combine(work, OptimizerGraphFile));

        // Start state: a checkpoint (resume), warm-start parameters (continue) or seeded initialisation.
        var state = checkpoint ?? new TrainingCheckpoint();
        if (checkpoint is null)
        {
            var rng = new SeededRandom(options.Seed);
            foreach (var p in parameters)
                state.Parameters[p.Name] = warmStart is null ? Initialise(p, rng) : Take(warmStart, p, headDir);
            foreach (var s in stateNames) state.OptimizerState[s] = new float[Shape(parameters, s).Count];
            state.RandomState = rng.State;
        }
        else
        {
            RenameLegacy(checkpoint, parameters, stateNames);
            foreach (var p in parameters) _ = Take(checkpoint.Parameters, p, headDir);
        }
        foreach (var s in stateNames)
            if (!state.OptimizerState.ContainsKey(s))
                throw new OnnxTransferException($"{headDir}: checkpoint lacks optimizer state '{s}'; resume with the same optimizer or train anew.");

        var ownSessions = sessions is null ? SessionFactory.ForTraining(ExecutionDevice.Cpu, options.Threads) : null;
        try
        {
            using var session = TrainingSession.Create(sessions ?? ownSessions!, trainModel, HeadGraphBuilder.BuildEval(spec, task, dim, classes),
                parameters, [new ParameterGroup(parameters)], options.Optimizer, state.Parameters, state.OptimizerState);
            var data = new HeadTrainingData(train, task, ClassWeights(train, options.ClassWeighting), HeadGraphBuilder.DropoutWidths(spec).ToArray(), spec.Dropout);
            var settings = new LoopSettings(options.Epochs, options.BatchSize, options.LearningRateAt, options.Patience, options.Monitor,
                "train", (what, epoch) => Diverged(headDir, what, epoch, options));
            TrainingLoop.Run(session, data, val is null ? null : s => Evaluate(s, val, task), state, settings,
                s => s.Save(Path.Combine(work, CheckpointFile)), progress, ct);
        }
        finally
        {
            ownSessions?.Dispose();
        }

        var kept = val is not null && state.BestEpoch > 0 ? state.BestParameters : state.Parameters;
        var info = Describe(state, options, train, val);
        var eval = HeadGraphBuilder.BuildEval(spec, task, dim, classes, kept);
        info.WriteMetadata(eval);
        eval.Save(Path.Combine(work, EvalGraphFile));
        info.Save(work);
        return new TrainingResult(headDir, info, state.History);
    }

    /// <summary>Checks the rows fit each other and returns <paramref name="options"/> with the task resolved (Binary for 2 classes, else MultiClass; MultiLabel for multi-label rows).</summary>
    internal static TrainingOptions WithTask(TrainingSet train, TrainingSet? val, TrainingOptions options)
    {
        if (train.Count == 0) throw new OnnxTransferException("training data is empty; extract features for a labelled dataset first.");
        if (val is not null && (val.Dimension != train.Dimension || !val.Classes.SequenceEqual(train.Classes) || val.IsMultiLabel != train.IsMultiLabel))
            throw new OnnxTransferException("validation data does not match the training data (dimension, classes or label kind); extract both with the same settings.");
        var task = options.Task ?? (train.IsMultiLabel ? HeadTask.MultiLabel : train.Classes.Length == 2 ? HeadTask.Binary : HeadTask.MultiClass);
        if ((task == HeadTask.MultiLabel) != train.IsMultiLabel)
            throw new OnnxTransferException($"training: task {task} does not fit {(train.IsMultiLabel ? "multi-label" : "single-label")} data; pick the matching task.");
        return options with { Task = task };
    }

    private static OnnxTransferException Diverged(string headDir, string what, int epoch, TrainingOptions options) =>
        new($"{headDir}: training diverged ({what}) at epoch {epoch}; lower the learning rate (now {options.LearningRate}) or enable gradient clipping (the previous head is unchanged).");

    /// <summary>head.json for the kept epoch of <paramref name="state"/>.</summary>
    internal static HeadInfo Describe(TrainingCheckpoint state, TrainingOptions options, TrainingSet train, TrainingSet? val)
    {
        var keptEpoch = val is not null && state.BestEpoch > 0 ? state.BestEpoch : state.Epoch;
        var kept = keptEpoch > 0 && state.History.Count >= keptEpoch ? state.History[keptEpoch - 1] : null;
        return new HeadInfo
        {
            Spec = options.Spec.ToString(),
            Task = options.Task!.Value,
            Classes = train.Classes,
            FeatureDimension = train.Dimension,
            FeatureSource = options.FeatureSource,
            Training = options,
            Metrics = new HeadMetrics
            {
                EpochsRun = state.Epoch,
                BestEpoch = keptEpoch,
                StoppedEarly = state.Stopped,
                TrainLoss = kept?.TrainLoss ?? 0,
                TrainAccuracy = kept?.TrainAccuracy ?? 0,
                ValLoss = kept?.ValLoss,
                ValAccuracy = kept?.ValAccuracy,
                TrainRows = train.Count,
                ValRows = val?.Count ?? 0,
            },
        };
    }

    private static HeadParameter Shape(IReadOnlyList<HeadParameter> parameters, string stateName) =>
        parameters.First(p => stateName.EndsWith("." + p.Name, StringComparison.Ordinal));

    /// <summary>LayerNorm's scale was named NAME.scale before the PyTorch name NAME.weight; checkpoints from then still resume.</summary>
    private static void RenameLegacy(TrainingCheckpoint checkpoint, IReadOnlyList<HeadParameter> parameters, IReadOnlyList<string> stateNames)
    {
        static void Rename(Dictionary<string, float[]> tensors, string name)
        {
            if (!name.EndsWith(".weight", StringComparison.Ordinal) || tensors.ContainsKey(name)) return;
            if (tensors.Remove(name[..^".weight".Length] + ".scale", out var v)) tensors[name] = v;
        }
        foreach (var p in parameters) { Rename(checkpoint.Parameters, p.Name); Rename(checkpoint.BestParameters, p.Name); }
        foreach (var s in stateNames) Rename(checkpoint.OptimizerState, s);
    }

    private static float[] Take(IReadOnlyDictionary<string, float[]> source, HeadParameter p, string headDir) =>
        source.TryGetValue(p.Name, out var v) && v.Length == p.Count ? v.ToArray()
            : throw new OnnxTransferException($"{headDir}: checkpoint parameter '{p.Name}' is missing or has the wrong size; it was written for another head spec.");

    internal static float[] Initialise(HeadParameter p, SeededRandom rng)
    {
        var values = new float[p.Count];
        var fanIn = p.Shape[0];
        var fanOut = p.Shape.Length > 1 ? p.Shape[1] : 1;
        var std = p.Init switch
        {
            ParameterInit.HeNormal => Math.Sqrt(2.0 / fanIn),
            ParameterInit.XavierNormal => Math.Sqrt(2.0 / (fanIn + fanOut)),
            _ => 0,
        };
        for (var i = 0; i < values.Length; i++)
            values[i] = p.Init switch
            {
                ParameterInit.Ones => 1f,
                ParameterInit.Zeros => 0f,
                _ => (float)(rng.NextGaussian() * std),
            };
        return values;
    }

    /// <summary>Validation loss (plain, unweighted, no smoothing) and accuracy from the eval graph's logits.</summary>
    private static (double, double) Evaluate(TrainingSession session, TrainingSet data, HeadTask task)
    {
        const int Chunk = 1024;
        var outputs = HeadGraphBuilder.OutputCount(task, data.Classes.Length);
        double lossSum = 0, correct = 0, decisions = 0;
        for (var start = 0; start < data.Count; start += Chunk)
        {
            var b = Math.Min(Chunk, data.Count - start);
            var rows = Enumerable.Range(start, b).ToArray();
            using var inputs = new GraphInputs().Add(HeadGraphBuilder.Features, data.Features.AsSpan(start * data.Dimension, b * data.Dimension).ToArray(), [b, data.Dimension]);
            var logits = session.Evaluate(inputs.Values);
            for (var k = 0; k < b; k++)
            {
                var z = logits.AsSpan(k * outputs, outputs);
                lossSum += task switch
                {
                    HeadTask.MultiClass => LogSumExp(z) - z[data.ClassIndex![start + k]],
                    HeadTask.Binary => Bce(z[0], data.ClassIndex![start + k]),
                    _ => MeanBce(z, data.Targets.AsSpan((start + k) * outputs, outputs)),
                };
            }
            var (c, d) = HeadTrainingData.CountCorrect(task, logits, outputs, data, rows);
            correct += c; decisions += d;
        }
        return (lossSum / data.Count, correct / decisions);
    }

    private static double LogSumExp(ReadOnlySpan<float> z)
    {
        double max = double.NegativeInfinity, sum = 0;
        foreach (var v in z) max = Math.Max(max, v);
        foreach (var v in z) sum += Math.Exp(v - max);
        return max + Math.Log(sum);
    }

    private static double Bce(double z, double y) => Math.Max(z, 0) - z * y + Math.Log(1 + Math.Exp(-Math.Abs(z)));

    private static double MeanBce(ReadOnlySpan<float> z, ReadOnlySpan<float> y)
    {
        double s = 0;
        for (var c = 0; c < z.Length; c++) s += Bce(z[c], y[c]);
        return s / z.Length;
    }
}
