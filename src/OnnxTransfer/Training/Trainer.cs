using Microsoft.ML.OnnxRuntime;
using OnnxTransfer.Features;
using OnnxTransfer.Onnx;
using OnnxTransfer.Training.Gradients;

namespace OnnxTransfer.Training;

/// <summary>Outcome of <see cref="Trainer"/>: where the head is and how training went.</summary>
/// <param name="HeadDirectory">The head directory written.</param>
/// <param name="Info">The head.json contents.</param>
/// <param name="History">Metrics of every epoch run (including those before a resume).</param>
public sealed record TrainingResult(string HeadDirectory, HeadInfo Info, IReadOnlyList<EpochMetrics> History);

/// <summary>
/// Trains a head with the generated ONNX graphs (train.onnx: forward + loss + backward; optimizer.onnx:
/// one update) on ONNX Runtime's CPU provider. Parameters and optimizer state live as OrtValues handed
/// from one step's outputs to the next. Every random choice (initialisation, validation split, shuffling,
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

    private const ulong SplitStream = 0x5EED_5B11_7000_0001UL;

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
        IProgress<ProgressUpdate>? progress = null, CancellationToken ct = default)
    {
        var multiLabel = options.Task == HeadTask.MultiLabel;
        var trainSet = TrainingSet.FromTable(train, null, multiLabel);
        var valSet = val is null ? null : TrainingSet.FromTable(val, trainSet.Classes, multiLabel);
        return Fit(trainSet, valSet, options, headDir, progress, ct);
    }

    /// <summary>Trains a new head on in-memory rows (see the <see cref="FeatureTable"/> overload).</summary>
    public static TrainingResult Fit(TrainingSet train, TrainingSet? val, TrainingOptions options, string headDir,
        IProgress<ProgressUpdate>? progress = null, CancellationToken ct = default) =>
        Run(train, val, options, headDir, checkpoint: null, warmStart: null, progress, ct);

    /// <summary>
    /// Continues an interrupted run from its checkpoint with the same data and options (head.json), to
    /// <paramref name="epochs"/> total epochs when given. The result is identical to an uninterrupted run.
    /// </summary>
    public static TrainingResult Resume(string headDir, TrainingSet train, TrainingSet? val, int? epochs = null,
        IProgress<ProgressUpdate>? progress = null, CancellationToken ct = default)
    {
        var source = ResumeSource(headDir);
        var info = HeadInfo.Load(source);
        var checkpoint = TrainingCheckpoint.Load(Path.Combine(source, CheckpointFile));
        var options = info.Training with { Epochs = epochs ?? info.Training.Epochs };
        CheckMatches(info, train, headDir);
        return Run(train, val, options, headDir, checkpoint, warmStart: null, progress, ct);
    }

    /// <summary>Resumes from feature tables (classes taken from the head).</summary>
    public static TrainingResult Resume(string headDir, FeatureTable train, FeatureTable? val, int? epochs = null,
        IProgress<ProgressUpdate>? progress = null, CancellationToken ct = default)
    {
        var info = HeadInfo.Load(ResumeSource(headDir));
        var multiLabel = info.Task == HeadTask.MultiLabel;
        return Resume(headDir, TrainingSet.FromTable(train, info.Classes, multiLabel),
            val is null ? null : TrainingSet.FromTable(val, info.Classes, multiLabel), epochs, progress, ct);
    }

    /// <summary>
    /// Fine-tunes an existing head on new data: starts from the head's kept parameters with a fresh
    /// optimizer and schedule for <paramref name="options"/>.Epochs and writes the result to
    /// <paramref name="outputDir"/> (may equal <paramref name="headDir"/>). The spec, task and classes stay the head's.
    /// </summary>
    public static TrainingResult Continue(string headDir, TrainingSet train, TrainingSet? val, TrainingOptions options,
        string outputDir, IProgress<ProgressUpdate>? progress = null, CancellationToken ct = default)
    {
        var info = HeadInfo.Load(headDir);
        CheckMatches(info, train, headDir);
        var checkpoint = TrainingCheckpoint.Load(Path.Combine(headDir, CheckpointFile));
        var start = checkpoint.BestParameters.Count > 0 ? checkpoint.BestParameters : checkpoint.Parameters;
        var merged = options with { Spec = info.HeadSpec, Task = info.Task };
        return Run(train, val, merged, outputDir, checkpoint: null, warmStart: start, progress, ct);
    }

    /// <summary>Continues on feature tables (classes taken from the head).</summary>
    public static TrainingResult Continue(string headDir, FeatureTable train, FeatureTable? val, TrainingOptions options,
        string outputDir, IProgress<ProgressUpdate>? progress = null, CancellationToken ct = default)
    {
        var info = HeadInfo.Load(headDir);
        var multiLabel = info.Task == HeadTask.MultiLabel;
        return Continue(headDir, TrainingSet.FromTable(train, info.Classes, multiLabel),
            val is null ? null : TrainingSet.FromTable(val, info.Classes, multiLabel), options, outputDir, progress, ct);
    }

    /// <summary>
    /// Stratified hold-out: per class, a shuffled <paramref name="fraction"/> (at least one row when the class has two
    /// or more). With <paramref name="groupOf"/>, rows of one group (e.g. augmented copies of one recording) always
    /// land on the same side, so validation never scores a copy of a training row.
    /// </summary>
    public static (int[] Train, int[] Val) StratifiedSplit(TrainingSet data, double fraction, ulong seed, Func<int, string>? groupOf = null)
    {
        var rng = new SeededRandom(seed ^ SplitStream);
        var classes = data.ClassIndex is { } idx
            ? Enumerable.Range(0, data.Count).GroupBy(i => idx[i]).OrderBy(g => g.Key).Select(g => g.ToArray())
            : [Enumerable.Range(0, data.Count).ToArray()];
        var train = new List<int>();
        var val = new List<int>();
        foreach (var rows in classes)
        {
            var groups = groupOf is null
                ? rows.Select(r => new[] { r }).ToArray()
                : rows.GroupBy(groupOf).OrderBy(g => g.Key, StringComparer.Ordinal).Select(g => g.ToArray()).ToArray();
            rng.Shuffle(groups.AsSpan());
            var take = rows.Length < 2 || fraction <= 0 ? 0 : Math.Clamp((int)Math.Round(rows.Length * fraction), 1, rows.Length - 1);
            var taken = 0;
            foreach (var g in groups)
            {
                // Whole groups go to validation until it holds its share; one group never fills both sides.
                var toVal = taken < take && (groupOf is null || g != groups[^1]);
                (toVal ? val : train).AddRange(g);
                if (toVal) taken += g.Length;
            }
        }
        train.Sort();
        val.Sort();
        return (train.ToArray(), val.ToArray());
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
        TrainingCheckpoint? checkpoint, IReadOnlyDictionary<string, float[]>? warmStart, IProgress<ProgressUpdate>? progress, CancellationToken ct)
    {
        options.Validate();
        options = options with { Optimizer = options.Optimizer.ResolveFor(options.Spec) };
        using var outputLock = OutputLock.Acquire(headDir);
        var work = PartialPath(headDir);
        if (checkpoint is null) AtomicFile.TryDeleteDirectory(work); // a new run discards an older unfinished one
        Directory.CreateDirectory(work);
        try
        {
            // A full-batch solve is short and deterministic: resuming it simply solves again.
            var result = options.Optimizer.Kind == OptimizerKind.Lbfgs
                ? FullBatch.LinearHeadSolver.Train(train, val, options, headDir, work, warmStart, progress, ct)
                : Train(train, val, options, headDir, work, checkpoint, warmStart, progress, ct);
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
        TrainingCheckpoint? checkpoint, IReadOnlyDictionary<string, float[]>? warmStart, IProgress<ProgressUpdate>? progress, CancellationToken ct)
    {
        if (train.Count == 0) throw new OnnxTransferException("training data is empty; extract features for a labelled dataset first.");
        if (val is not null && (val.Dimension != train.Dimension || !val.Classes.SequenceEqual(train.Classes) || val.IsMultiLabel != train.IsMultiLabel))
            throw new OnnxTransferException("validation data does not match the training data (dimension, classes or label kind); extract both with the same settings.");
        var task = options.Task ?? (train.IsMultiLabel ? HeadTask.MultiLabel : train.Classes.Length == 2 ? HeadTask.Binary : HeadTask.MultiClass);
        if ((task == HeadTask.MultiLabel) != train.IsMultiLabel)
            throw new OnnxTransferException($"training: task {task} does not fit {(train.IsMultiLabel ? "multi-label" : "single-label")} data; pick the matching task.");
        options = options with { Task = task };

        if (val is null && options.ValidationFraction > 0)
        {
            var (t, v) = StratifiedSplit(train, options.ValidationFraction, options.Seed);
            if (v.Length > 0) { val = train.Subset(v); train = train.Subset(t); }
        }
        var classes = train.Classes.Length;
        var dim = train.Dimension;
        var spec = options.Spec;
        var parameters = HeadGraphBuilder.Parameters(spec, task, dim, classes);
        var dropoutWidths = HeadGraphBuilder.DropoutWidths(spec);
        var stateNames = parameters.SelectMany(p => OptimizerGraph.StateNames(options.Optimizer, p.Name)).ToArray();
        var classWeights = ClassWeights(train, options.ClassWeighting);

        var trainModel = HeadGraphBuilder.BuildTraining(spec, task, dim, classes, options.LabelSmoothing);
        var optimizerModel = OptimizerGraph.Build(parameters, options.Optimizer);
        var evalModel = HeadGraphBuilder.BuildEval(spec, task, dim, classes);
        trainModel.Save(Path.Combine(work, TrainGraphFile));
        Describe(checkpoint ?? new TrainingCheckpoint(), options, train, val).Save(work); // lets an interrupted run resume
        optimizerModel.Save(Path.Combine(work, OptimizerGraphFile));

        using var sessionOptions = new SessionOptions
        {
            IntraOpNumThreads = options.Threads,
            InterOpNumThreads = 1,
            ExecutionMode = ExecutionMode.ORT_SEQUENTIAL,
        };
        using var trainSession = new InferenceSession(trainModel.ToBytes(), sessionOptions);
        using var optimizerSession = new InferenceSession(optimizerModel.ToBytes(), sessionOptions);
        using var evalSession = new InferenceSession(evalModel.ToBytes(), sessionOptions);
        using var runOptions = new RunOptions();

        // Start state: a checkpoint (resume), warm-start parameters (continue) or seeded initialisation.
        SeededRandom rng;
        var state = checkpoint ?? new TrainingCheckpoint();
        if (checkpoint is null)
        {
            rng = new SeededRandom(options.Seed);
            foreach (var p in parameters)
                state.Parameters[p.Name] = warmStart is null ? Initialise(p, rng) : Take(warmStart, p, headDir);
            foreach (var s in stateNames) state.OptimizerState[s] = new float[Shape(parameters, s).Count];
            state.RandomState = rng.State;
        }
        else
        {
            rng = SeededRandom.FromState(checkpoint.RandomState);
            foreach (var p in parameters) _ = Take(checkpoint.Parameters, p, headDir);
        }

        foreach (var s in stateNames)
            if (!state.OptimizerState.ContainsKey(s))
                throw new OnnxTransferException($"{headDir}: checkpoint lacks optimizer state '{s}'; resume with the same optimizer or train anew.");
        var paramValues = parameters.Select(p => OrtValue.CreateTensorValueFromMemory(state.Parameters[p.Name].ToArray(), p.Dims)).ToArray();
        var stateValues = stateNames.Select(s => OrtValue.CreateTensorValueFromMemory(state.OptimizerState[s].ToArray(), Shape(parameters, s).Dims)).ToArray();
        try
        {
            var batchesPerEpoch = (train.Count + options.BatchSize - 1) / options.BatchSize;
            var totalSteps = (long)batchesPerEpoch * options.Epochs;
            var trainInputNames = new List<string> { HeadGraphBuilder.Features, HeadGraphBuilder.Labels, HeadGraphBuilder.Weights };
            trainInputNames.AddRange(parameters.Select(p => p.Name));
            trainInputNames.AddRange(dropoutWidths.Select((_, i) => HeadGraphBuilder.DropoutMaskName(i)));
            var trainOutputNames = new List<string> { HeadGraphBuilder.Loss, HeadGraphBuilder.Logits };
            trainOutputNames.AddRange(parameters.Select(p => HeadGraphBuilder.GradientName(p.Name)));
            var optInputNames = new List<string> { OptimizerGraph.LearningRate, OptimizerGraph.Step };
            optInputNames.AddRange(parameters.Select(p => p.Name));
            optInputNames.AddRange(parameters.Select(p => HeadGraphBuilder.GradientName(p.Name)));
            optInputNames.AddRange(stateNames);
            var optOutputNames = parameters.Select(p => OptimizerGraph.UpdatedName(p.Name))
                .Concat(stateNames.Select(OptimizerGraph.UpdatedName)).ToList();
            var outputs = HeadGraphBuilder.OutputCount(task, classes);
            var order = new int[train.Count];

            for (var epoch = state.Epoch; epoch < options.Epochs && !state.Stopped; epoch++)
            {
                for (var i = 0; i < order.Length; i++) order[i] = i;
                rng.Shuffle(order.AsSpan());
                double lossSum = 0, weightSum = 0, correct = 0, decisions = 0, lr = 0;
                for (var start = 0; start < order.Length; start += options.BatchSize)
                {
                    ct.ThrowIfCancellationRequested();
                    var rows = order.AsSpan(start, Math.Min(options.BatchSize, order.Length - start));
                    var b = rows.Length;
                    var x = new float[b * dim];
                    var w = new float[b];
                    for (var k = 0; k < b; k++) train.Features.AsSpan(rows[k] * dim, dim).CopyTo(x.AsSpan(k * dim));
                    OrtValue labels;
                    if (train.Targets is { } targets)
                    {
                        var y = new float[b * classes];
                        for (var k = 0; k < b; k++) { targets.AsSpan(rows[k] * classes, classes).CopyTo(y.AsSpan(k * classes)); w[k] = 1; }
                        labels = OrtValue.CreateTensorValueFromMemory(y, [b, classes]);
                    }
                    else
                    {
                        var y = new long[b];
                        for (var k = 0; k < b; k++) { y[k] = train.ClassIndex![rows[k]]; w[k] = classWeights[y[k]]; }
                        labels = OrtValue.CreateTensorValueFromMemory(y, [b]);
                    }
                    var inputs = new List<OrtValue> { OrtValue.CreateTensorValueFromMemory(x, [b, dim]), labels, OrtValue.CreateTensorValueFromMemory(w, [b]) };
                    inputs.AddRange(paramValues);
                    var masks = dropoutWidths.Select(width => OrtValue.CreateTensorValueFromMemory(DropoutMask(rng, b * width, spec.Dropout), [b, width])).ToArray();
                    inputs.AddRange(masks);
                    lr = options.LearningRateAt(state.Step, totalSteps);
                    using var lrValue = OrtValue.CreateTensorValueFromMemory(new[] { (float)lr }, []);
                    using var stepValue = OrtValue.CreateTensorValueFromMemory(new[] { (float)(state.Step + 1) }, []);
                    IDisposableReadOnlyCollection<OrtValue>? trainOut = null;
                    try
                    {
                        trainOut = trainSession.Run(runOptions, trainInputNames, inputs, trainOutputNames);
                        var loss = trainOut[0].GetTensorDataAsSpan<float>()[0];
                        if (!float.IsFinite(loss)) throw Diverged(headDir, $"loss {loss}", epoch, options);
                        var batchWeight = w.Sum(v => (double)v);
                        lossSum += loss * batchWeight;
                        weightSum += batchWeight;
                        var (c, d) = CountCorrect(task, trainOut[1].GetTensorDataAsSpan<float>(), outputs, train, rows);
                        correct += c; decisions += d;

                        var optInputs = new List<OrtValue> { lrValue, stepValue };
                        optInputs.AddRange(paramValues);
                        optInputs.AddRange(trainOut.Skip(2));
                        optInputs.AddRange(stateValues);
                        var updated = optimizerSession.Run(runOptions, optInputNames, optInputs, optOutputNames);
                        // Hand the new tensors to the next step; the collection itself is not disposed.
                        for (var i = 0; i < paramValues.Length; i++) { paramValues[i].Dispose(); paramValues[i] = updated[i]; }
                        for (var i = 0; i < stateValues.Length; i++) { stateValues[i].Dispose(); stateValues[i] = updated[paramValues.Length + i]; }
                    }
                    finally
                    {
                        trainOut?.Dispose();
                        inputs[0].Dispose(); inputs[1].Dispose(); inputs[2].Dispose();
                        foreach (var m in masks) m.Dispose();
                    }
                    state.Step++;
                }

                var (valLoss, valAccuracy) = val is null ? ((double?)null, (double?)null) : Evaluate(evalSession, runOptions, parameters, paramValues, val, task);
                var metrics = new EpochMetrics(epoch + 1, lossSum / weightSum, decisions == 0 ? 0 : correct / decisions, valLoss, valAccuracy, lr);
                state.History.Add(metrics);
                state.Epoch = epoch + 1;
                state.RandomState = rng.State;
                Snapshot(parameters, paramValues, state.Parameters);
                Snapshot(stateNames, stateValues, state.OptimizerState);
                if (valLoss is { } v && !double.IsFinite(v)) throw Diverged(headDir, $"validation loss {v}", epoch, options);
                if (state.Parameters.Values.Any(p => p.Any(x => !float.IsFinite(x))))
                    throw Diverged(headDir, "non-finite weights", epoch, options);
                if (val is not null)
                {
                    var score = options.Monitor == ValidationMetric.Loss ? valLoss!.Value : -valAccuracy!.Value;
                    var improved = score < state.BestScore
                        || (score == state.BestScore && state.BestEpoch > 0 && valLoss < state.History[state.BestEpoch - 1].ValLoss);
                    if (improved)
                    {
                        state.BestScore = score;
                        state.BestEpoch = epoch + 1;
                        state.EpochsSinceBest = 0;
                        state.BestParameters = state.Parameters.ToDictionary(p => p.Key, p => p.Value.ToArray(), StringComparer.Ordinal);
                    }
                    else if (++state.EpochsSinceBest >= options.Patience && options.Patience > 0)
                        state.Stopped = true;
                }
                state.Save(Path.Combine(work, CheckpointFile));
                progress?.Report(new ProgressUpdate("train", epoch + 1, options.Epochs, "epochs", Describe(metrics)));
                ct.ThrowIfCancellationRequested();
            }

            var kept = val is not null && state.BestEpoch > 0 ? state.BestParameters : state.Parameters;
            var info = Describe(state, options, train, val);
            var eval = HeadGraphBuilder.BuildEval(spec, task, dim, classes, kept);
            info.WriteMetadata(eval);
            eval.Save(Path.Combine(work, EvalGraphFile));
            info.Save(work);
            return new TrainingResult(headDir, info, state.History);
        }
        finally
        {
            foreach (var v in paramValues) v.Dispose();
            foreach (var v in stateValues) v.Dispose();
        }
    }

    private static OnnxTransferException Diverged(string headDir, string what, int epoch, TrainingOptions options) =>
        new($"{headDir}: training diverged ({what}) at epoch {epoch + 1}; lower the learning rate (now {options.LearningRate}) or enable gradient clipping (the previous head is unchanged).");

    private static HeadInfo Describe(TrainingCheckpoint state, TrainingOptions options, TrainingSet train, TrainingSet? val)
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

    private static string Describe(EpochMetrics m) => FormattableString.Invariant(
        $"loss {m.TrainLoss:0.0000}, acc {m.TrainAccuracy:0.000}") +
        (m.ValLoss is { } vl ? FormattableString.Invariant($", val loss {vl:0.0000}, val acc {m.ValAccuracy:0.000}") : "");

    private static HeadParameter Shape(IReadOnlyList<HeadParameter> parameters, string stateName) =>
        parameters.First(p => stateName.EndsWith("." + p.Name, StringComparison.Ordinal));

    private static float[] Take(IReadOnlyDictionary<string, float[]> source, HeadParameter p, string headDir) =>
        source.TryGetValue(p.Name, out var v) && v.Length == p.Count ? v.ToArray()
            : throw new OnnxTransferException($"{headDir}: checkpoint parameter '{p.Name}' is missing or has the wrong size; it was written for another head spec.");

    private static void Snapshot(IReadOnlyList<HeadParameter> parameters, OrtValue[] values, Dictionary<string, float[]> into)
    {
        for (var i = 0; i < parameters.Count; i++) into[parameters[i].Name] = values[i].GetTensorDataAsSpan<float>().ToArray();
    }

    private static void Snapshot(IReadOnlyList<string> names, OrtValue[] values, Dictionary<string, float[]> into)
    {
        for (var i = 0; i < names.Count; i++) into[names[i]] = values[i].GetTensorDataAsSpan<float>().ToArray();
    }

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

    private static float[] DropoutMask(SeededRandom rng, int count, double p)
    {
        var keep = (float)(1 / (1 - p));
        var mask = new float[count];
        for (var i = 0; i < count; i++) mask[i] = rng.NextDouble() < p ? 0f : keep;
        return mask;
    }

    private static (double Correct, double Decisions) CountCorrect(HeadTask task, ReadOnlySpan<float> logits, int outputs, TrainingSet data, ReadOnlySpan<int> rows)
    {
        double correct = 0;
        for (var k = 0; k < rows.Length; k++)
        {
            var z = logits.Slice(k * outputs, outputs);
            switch (task)
            {
                case HeadTask.Binary:
                    if ((z[0] > 0 ? 1 : 0) == data.ClassIndex![rows[k]]) correct++;
                    break;
                case HeadTask.MultiClass:
                    var best = 0;
                    for (var c = 1; c < outputs; c++) if (z[c] > z[best]) best = c;
                    if (best == data.ClassIndex![rows[k]]) correct++;
                    break;
                default:
                    for (var c = 0; c < outputs; c++)
                        if ((z[c] > 0) == (data.Targets![rows[k] * outputs + c] > 0.5f)) correct++;
                    break;
            }
        }
        return (correct, task == HeadTask.MultiLabel ? rows.Length * outputs : rows.Length);
    }

    /// <summary>Validation loss (plain, unweighted, no smoothing) and accuracy from the eval graph's logits.</summary>
    private static (double?, double?) Evaluate(InferenceSession eval, RunOptions runOptions, IReadOnlyList<HeadParameter> parameters,
        OrtValue[] paramValues, TrainingSet data, HeadTask task)
    {
        const int Chunk = 1024;
        var outputs = task == HeadTask.Binary ? 1 : data.Classes.Length;
        var names = new List<string> { HeadGraphBuilder.Features };
        names.AddRange(parameters.Select(p => p.Name));
        double lossSum = 0, correct = 0, decisions = 0;
        var rows = new int[Math.Min(Chunk, data.Count)];
        for (var start = 0; start < data.Count; start += Chunk)
        {
            var b = Math.Min(Chunk, data.Count - start);
            var x = data.Features.AsMemory(start * data.Dimension, b * data.Dimension);
            using var features = OrtValue.CreateTensorValueFromMemory(OrtMemoryInfo.DefaultInstance, x, [b, data.Dimension]);
            var inputs = new List<OrtValue> { features };
            inputs.AddRange(paramValues);
            using var result = eval.Run(runOptions, names, inputs, [HeadGraphBuilder.Logits]);
            var logits = result[0].GetTensorDataAsSpan<float>();
            for (var k = 0; k < b; k++)
            {
                rows[k] = start + k;
                var z = logits.Slice(k * outputs, outputs);
                lossSum += task switch
                {
                    HeadTask.MultiClass => LogSumExp(z) - z[data.ClassIndex![start + k]],
                    HeadTask.Binary => Bce(z[0], data.ClassIndex![start + k]),
                    _ => MeanBce(z, data.Targets.AsSpan((start + k) * outputs, outputs)),
                };
            }
            var (c, d) = CountCorrect(task, logits, outputs, data, rows.AsSpan(0, b));
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
