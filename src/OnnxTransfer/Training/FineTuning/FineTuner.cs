using System.Diagnostics;
using OnnxTransfer.Data;
using OnnxTransfer.Export;
using OnnxTransfer.Features;
using OnnxTransfer.Imaging;
using OnnxTransfer.Onnx;
using OnnxTransfer.Runtime;
using OnnxTransfer.Training.Engine;
using OnnxTransfer.Training.Heads;
using ModelMetadata = OnnxTransfer.Export.ModelMetadata;

namespace OnnxTransfer.Training.FineTuning;

/// <summary>
/// Fine-tunes the last <see cref="FineTuneOptions.Unfreeze"/> layers of a float (or quantized, dequantized here) cut
/// backbone together with a new head. The frozen prefix runs ONCE per image and its boundary activations are cached
/// in memory as float arrays; every epoch then runs only the trainable suffix and the head. Mini-batches are shuffled
/// from the seed; AdamW updates the backbone and the head through two <see cref="OptimizerGraph"/>s, one per parameter
/// group, so each group gets its own learning-rate input (backbone = head rate × <see cref="FineTuneOptions.BackboneLearningRateFactor"/>;
/// gradient clipping, when on, is per group; with gradual unfreezing every layer is its own group with its own step count).
/// BatchNormalization stays in inference mode (running statistics frozen), which the gradient rules assume. Early stopping
/// watches validation loss and the best epoch's weights are kept. With a checkpoint path, every epoch ends with an atomic
/// <see cref="FineTuneCheckpoint"/> and a rerun of the same run continues from it.
/// </summary>
public static class FineTuner
{
    /// <summary>Metadata key recording what was unfrozen in the exported model.</summary>
    public const string UnfrozenMetadataKey = "onnxtransfer.unfrozen";

    /// <summary>
    /// Trains and exports. Items are labelled images; with no <paramref name="val"/> a stratified
    /// <see cref="TrainingOptions.ValidationFraction"/> of <paramref name="train"/> is held out for early stopping.
    /// The frozen prefix runs once per image (<see cref="ActivationCache.InMemory"/> or <see cref="ActivationCache.InStoreAsync"/>), then <see cref="Train"/> runs;
    /// with <see cref="FineTuneOptions.Augmentation"/> only validation is cached and training images go through the prefix every
    /// epoch (<see cref="AugmentedActivations"/>).
    /// </summary>
    /// <exception cref="OnnxTransferException">Bad options, empty data, unlabelled items, or a backbone the graph builder refuses.</exception>
    /// <param name="sessions">Creates every session of the run (prefix cache and training; the device); null runs on the CPU
    /// with <see cref="TrainingOptions.Threads"/> threads.</param>
    public static async Task<FineTuneResult> FitAsync(OnnxModel cutBackbone, ImagePreprocessing preprocessing, IReadOnlyList<DatasetItem> train,
        IReadOnlyList<DatasetItem>? val, FineTuneOptions options, ModelMetadata metadata, IProgress<ProgressUpdate>? progress = null, CancellationToken ct = default,
        SessionFactory? sessions = null)
    {
        var t = options.Training;
        using var owned = sessions is null ? SessionFactory.ForTraining(ExecutionDevice.Cpu, t.Threads) : null;
        sessions ??= owned!;
        ValidateOptions(options);
        var classes = Classes(train, val);
        if (val is null && t.ValidationFraction > 0)
        {
            var (tr, va) = StratifiedSplit.Split(train.Select(i => i.Id).ToArray(), train.Select(i => i.Label).ToArray(), t.ValidationFraction, t.Seed);
            if (va.Length > 0) { val = va.Select(i => train[i]).ToArray(); train = tr.Select(i => train[i]).ToArray(); }
        }
        var task = TaskFor(t, classes);
        var backbone = FloatBackbone(cutBackbone);
        var graph = FineTuneGraphBuilder.Build(backbone, t.Spec, task, classes.Length, options.Unfreeze, t.LabelSmoothing);

        var clock = Stopwatch.StartNew();
        var encoder = new ImageEncoder(preprocessing);
        var shape = BoundaryShape(graph);
        if (options.Augmentation is { } augmentation)
            return FitAugmented(backbone, graph, encoder, augmentation, train, val, options, metadata, sessions, progress, ct);
        ActivationSet trainSet;
        ActivationSet? valSet = null;
        var prefixRuns = train.Count + (val?.Count ?? 0);
        if (options.ActivationStore is { } store)
        {
            var (cache, kept, written) = await ActivationCache.InStoreAsync(graph, encoder, preprocessing, train.Concat(val ?? []).ToArray(), store, options.PrefixBatchSize, progress, ct, sessions)
                .ConfigureAwait(false);
            prefixRuns = written;
            var all = new ActivationSet(cache, shape, kept);
            var index = kept.Select((item, i) => (item.Id, i)).ToDictionary(x => x.Id, x => x.i, StringComparer.Ordinal);
            ActivationSet Slice(IReadOnlyList<DatasetItem> items) => all.Subset(items.Where(i => index.ContainsKey(i.Id)).Select(i => index[i.Id]).ToArray());
            trainSet = Slice(train);
            if (val is not null) valSet = Slice(val);
        }
        else
        {
            trainSet = ActivationCache.Readable(graph, encoder, train, options.PrefixBatchSize, sessions, progress, ct);
            if (val is not null) valSet = ActivationCache.Readable(graph, encoder, val, options.PrefixBatchSize, sessions, progress, ct);
        }
        if (trainSet.Items.Count == 0) throw new OnnxTransferException("fine-tuning: no training image could be read; check the dataset's files.");
        if (valSet is { Items.Count: 0 }) valSet = null;
        var cacheTime = clock.Elapsed;
        var result = Train(backbone, graph, trainSet, valSet, options, metadata, progress, ct, sessions);
        return result with { CacheTime = cacheTime, PrefixRuns = prefixRuns };
    }

    /// <summary>Metadata key recording the training augmentation (text form and seed) of the exported model; absent when none.</summary>
    public const string AugmentationMetadataKey = "onnxtransfer.augmentation";

    // Fit with augmented training images: unreadable ones are left out by a first decoding pass, the training source
    // runs the prefix per batch, validation is cached in memory (unaugmented).
    private static FineTuneResult FitAugmented(OnnxModel backbone, FineTuneGraph graph, ImageEncoder encoder, ImageAugmentation augmentation,
        IReadOnlyList<DatasetItem> train, IReadOnlyList<DatasetItem>? val, FineTuneOptions options, ModelMetadata metadata, SessionFactory sessions,
        IProgress<ProgressUpdate>? progress, CancellationToken ct)
    {
        var t = options.Training;
        var clock = Stopwatch.StartNew();
        var unreadable = AugmentedActivations.FindUnreadable(encoder, train, progress, ct).ToHashSet();
        train = train.Where((_, i) => !unreadable.Contains(i)).ToArray();
        if (train.Count == 0) throw new OnnxTransferException("fine-tuning: no training image could be read; check the dataset's files.");
        ActivationSet? valSet = null;
        if (val is not null)
        {
            valSet = ActivationCache.Readable(graph, encoder, val, options.PrefixBatchSize, sessions, progress, ct);
            if (valSet.Items.Count == 0) valSet = null;
        }
        var cacheTime = clock.Elapsed;
        using var source = new AugmentedActivations(graph, new AugmentedImageEncoder(encoder.Preprocessor.Preprocessing, augmentation, t.Seed, encoder.Decoder), train, sessions);
        var result = Train(backbone, graph, source, valSet, options, metadata, progress, ct, sessions);
        result.Model.SetMetadata(AugmentationMetadataKey, FormattableString.Invariant($"{augmentation}; seed {t.Seed}"));
        return result with { CacheTime = cacheTime, PrefixRuns = val?.Count ?? 0 };
    }

    /// <summary>
    /// Trains the unfrozen layers and the head on activations at <paramref name="graph"/>'s boundary and exports the merged
    /// model. This is <see cref="Fit"/> without the caching, for callers that already hold the activations (a learning
    /// curve reusing one cache for many subsets) or compute them per batch (augmentation). Classes are the sorted distinct
    /// training labels; <paramref name="val"/> (optional) drives early stopping. With <see cref="FineTuneOptions.CheckpointPath"/>
    /// the state is saved after every epoch and a checkpoint of the same run is continued (bit-identical to an uninterrupted run);
    /// with <see cref="FineTuneOptions.GradualUnfreezing"/> the layers are released one stage at a time. <paramref name="backbone"/>
    /// is the float cut backbone the graph was built from (<see cref="FloatBackbone"/>).
    /// </summary>
    /// <exception cref="OnnxTransferException">Bad options, empty data, unlabelled items, divergence, or a checkpoint of another run.</exception>
    /// <param name="sessions">Creates the training sessions (the device); null trains on the CPU with <see cref="TrainingOptions.Threads"/> threads.</param>
    internal static FineTuneResult Train(OnnxModel backbone, FineTuneGraph graph, IActivationSource train, IActivationSource? val,
        FineTuneOptions options, ModelMetadata metadata, IProgress<ProgressUpdate>? progress = null, CancellationToken ct = default, SessionFactory? sessions = null)
    {
        var t = options.Training;
        ValidateOptions(options);
        var classes = Classes(train.Items, val?.Items);
        var task = TaskFor(t, classes);
        var trainLabels = train.Items.Select(i => (long)Array.BinarySearch(classes, i.Label, StringComparer.Ordinal)).ToArray();
        // Same weighting as head training (TrainingOptions.ClassWeighting); validation loss stays unweighted.
        var classWeights = Trainer.ClassWeights(TrainingSet.SingleLabel(new float[trainLabels.Length], 1, trainLabels.Select(l => (int)l).ToArray(), classes), t.ClassWeighting);
        var valLabels = val?.Items.Select(i => (long)Array.BinarySearch(classes, i.Label, StringComparer.Ordinal)).ToArray();

        var headParameters = graph.Parameters.Where(p => !graph.BackboneValues.ContainsKey(p.Name)).ToList();
        var groups = ParameterGroups(graph, options);
        var finalStage = groups.Max(g => g.Stage);
        // Epoch from which every layer trains (1 without gradual unfreezing); early stopping only ends the run from here on.
        var finalStageStart = finalStage * options.GradualUnfreezing + 1;
        if (finalStageStart > t.Epochs)
            throw new OnnxTransferException(FormattableString.Invariant(
                $"fine-tuning: gradual unfreezing of {finalStage} layer(s) at {options.GradualUnfreezing} epoch(s) per stage reaches the last layer in epoch {finalStageStart}; train at least {finalStageStart} epochs (now {t.Epochs}) or shorten the stages."));
        int StageOf(int epoch) => TrainingLoop.StageOf(epoch, options.GradualUnfreezing, finalStage);

        var fingerprint = options.CheckpointPath is null ? null : FineTuneFingerprint.Of(graph, options, train, val);
        var state = StartState(graph, options, groups.Count, fingerprint, progress);
        var resumedEpochs = state.Epoch;

        var ownSessions = sessions is null ? SessionFactory.ForTraining(ExecutionDevice.Cpu, t.Threads) : null;
        LoopOutcome outcome;
        try
        {
            using var session = TrainingSession.Create(sessions ?? ownSessions!, graph.Training, eval: null, graph.Parameters, groups, t.Optimizer,
                state.Parameters, state.OptimizerState);
            var data = new ActivationTrainingData(train, graph.Boundary, trainLabels, classWeights, task, classes.Length);
            var settings = new LoopSettings(t.Epochs, t.BatchSize, t.LearningRateAt, t.Patience, t.Monitor, "fine-tune",
                (what, epoch) => new OnnxTransferException($"fine-tuning diverged ({what}) at epoch {epoch}; lower the learning rate (now {t.LearningRate})."),
                options.GradualUnfreezing);
            var valData = val is null ? null : new ActivationTrainingData(val, graph.Boundary, valLabels!, null, task, classes.Length);
            Action<TrainingCheckpoint>? save = options.CheckpointPath is { } path ? s => { s.Fingerprint = fingerprint!; s.Save(path); } : null;
            outcome = TrainingLoop.Run(session, data, valData is null ? null : s => Validate(s, valData, t.BatchSize), state, settings, save, progress, ct);
        }
        finally
        {
            ownSessions?.Dispose();
        }
        var kept = state.BestParameters.Count > 0 ? state.BestParameters : state.Parameters;
        var tuned = FineTuneGraphBuilder.WithWeights(backbone, graph.BackboneValues.Keys.ToDictionary(k => k, k => kept[k], StringComparer.Ordinal));
        var dim = graph.Parameters.Count == 0 ? 0 : checked((int)TensorShapeProbe.Infer(backbone, Backbones.BackboneCutter.FeaturesOutput).Shape![1].Value!.Value);
        var headEval = HeadGraphBuilder.BuildEval(t.Spec, task, dim, classes.Length, headParameters.ToDictionary(p => p.Name, p => kept[p.Name], StringComparer.Ordinal));
        var model = ModelExporter.Compose(tuned, headEval, metadata with { Labels = classes, Head = t.Spec.ToString(), Task = task.ToString().ToLowerInvariant() });
        // With gradual unfreezing the kept epoch may predate the last stage: say how many layers had been released by then.
        var gradual = options.GradualUnfreezing == 0 ? "" : FormattableString.Invariant($"; gradual unfreezing, {options.GradualUnfreezing} epoch(s) per stage");
        var keptStage = options.GradualUnfreezing == 0 || state.BestEpoch == 0 ? "" : FormattableString.Invariant($" (head + {StageOf(state.BestEpoch)} layer(s) trained)");
        model.SetMetadata(UnfrozenMetadataKey, FormattableString.Invariant(
            $"last {options.Unfreeze} layer(s) from '{graph.Boundary}': {string.Join(", ", graph.BackboneValues.Keys)}; backbone lr factor {options.BackboneLearningRateFactor}{gradual}; best epoch {state.BestEpoch}{keptStage}"));
        return new FineTuneResult(model, tuned, headEval, classes, state.History, TimeSpan.Zero, 0, outcome.TrainingTime / Math.Max(1, outcome.EpochsRun))
        {
            Graph = graph,
            ResumedEpochs = resumedEpochs,
            KeptEpoch = state.BestParameters.Count > 0 ? state.BestEpoch : state.History.Count,
        };
    }

    /// <summary>Mean loss and accuracy on the validation activations (no augmentation, no updates).</summary>
    private static (double Loss, double Accuracy) Validate(TrainingSession session, ActivationTrainingData val, int batchSize)
    {
        double sum = 0, right = 0;
        var random = new SeededRandom(0); // unused: activations draw nothing
        for (var start = 0; start < val.Count; start += batchSize)
        {
            var rows = Enumerable.Range(start, Math.Min(batchSize, val.Count - start)).ToArray();
            using var inputs = val.Batch(rows, 0, random);
            var (loss, logits) = session.Forward(inputs.Values, gradients: false);
            sum += loss * rows.Length;
            right += val.Score(logits, rows).Correct;
        }
        return (sum / val.Count, right / val.Count);
    }

    /// <summary>Where training starts: a checkpoint of this very run (refusing one of another run), or seeded initialisation.</summary>
    private static TrainingCheckpoint StartState(FineTuneGraph graph, FineTuneOptions options, int groupCount,
        IReadOnlyDictionary<string, string>? fingerprint, IProgress<ProgressUpdate>? progress)
    {
        var t = options.Training;
        if (options.CheckpointPath is { } checkpointPath && File.Exists(checkpointPath))
        {
            var resumed = TrainingCheckpoint.Load(checkpointPath);
            if (resumed.Difference(fingerprint!) is { } diff)
                throw new OnnxTransferException($"{checkpointPath}: a checkpoint of another fine-tuning run ({diff} differ); rerun with the same data and options to resume it, or delete it to start over.");
            if (resumed.GroupSteps?.Length != groupCount || graph.Parameters.Any(p => resumed.Parameters.GetValueOrDefault(p.Name)?.Length != p.Count))
                throw new OnnxTransferException($"{checkpointPath}: the checkpoint's parameters do not fit the training graph; delete it to start over.");
            progress?.Report(new ProgressUpdate("fine-tune", resumed.Epoch, t.Epochs, "epochs", $"resumed from {checkpointPath} after epoch {resumed.Epoch}"));
            return resumed;
        }
        var rng = new SeededRandom(t.Seed);
        var state = new TrainingCheckpoint
        {
            Parameters = graph.Parameters.ToDictionary(p => p.Name,
                p => graph.BackboneValues.TryGetValue(p.Name, out var v) ? v.ToArray() : Trainer.Initialise(p, rng), StringComparer.Ordinal),
            OptimizerState = graph.Parameters.SelectMany(p => OptimizerGraph.StateNames(t.Optimizer, p.Name).Select(s => (s, p.Count)))
                .ToDictionary(x => x.s, x => new float[x.Count], StringComparer.Ordinal),
            GroupSteps = new long[groupCount],
        };
        state.RandomState = rng.State;
        return state;
    }

    /// <summary>
    /// The optimizer's parameter groups with their learning-rate factor and the stage from which they train: the backbone
    /// (× <see cref="FineTuneOptions.BackboneLearningRateFactor"/>) and the head, both from stage 0; with gradual unfreezing,
    /// the head from stage 0 and layer k (nearest the features first) from stage k + 1.
    /// </summary>
    private static List<ParameterGroup> ParameterGroups(FineTuneGraph graph, FineTuneOptions options)
    {
        var backbone = graph.Parameters.Where(p => graph.BackboneValues.ContainsKey(p.Name)).ToList();
        var head = graph.Parameters.Where(p => !graph.BackboneValues.ContainsKey(p.Name)).ToList();
        var factor = options.BackboneLearningRateFactor;
        if (options.GradualUnfreezing == 0) return [new(backbone, factor, 0), new(head, 1.0, 0)];
        if (graph.Layers.Count == 0)
            throw new OnnxTransferException("fine-tuning: gradual unfreezing needs the graph's layers; build the graph with FineTuneGraphBuilder.Build.");
        var groups = new List<ParameterGroup> { new(head, 1.0, 0) };
        var taken = new HashSet<string>(StringComparer.Ordinal);
        for (var k = 0; k < graph.Layers.Count; k++)
        {
            var names = graph.Layers[k].Parameters.ToHashSet(StringComparer.Ordinal);
            groups.Add(new(backbone.Where(p => names.Contains(p.Name) && taken.Add(p.Name)).ToList(), factor, k + 1));
        }
        return groups;
    }

    /// <summary>The float twin of a cut backbone: itself, or dequantized once when it is quantized.</summary>
    public static OnnxModel FloatBackbone(OnnxModel cutBackbone) =>
        Dequantizer.IsQuantized(cutBackbone) ? Dequantizer.Dequantize(cutBackbone).Model : cutBackbone;

    /// <summary>Per-sample shape of the boundary tensor (no batch dimension).</summary>
    internal static long[] BoundaryShape(FineTuneGraph graph) =>
        // Shape inference walks the whole prefix; callers compute it once.
        TensorShapeProbe.Infer(graph.Prefix, graph.Boundary).Shape!.Skip(1).Select(d => d.Value
            ?? throw new OnnxTransferException($"{graph.Prefix.DisplayName}: boundary '{graph.Boundary}' has a dynamic size; fix the input size of the backbone.")).ToArray();

    private static void ValidateOptions(FineTuneOptions options)
    {
        var t = options.Training;
        t.Validate();
        if (options.BackboneLearningRateFactor is <= 0 or > 1 || double.IsNaN(options.BackboneLearningRateFactor))
            throw new OnnxTransferException($"fine-tuning: backbone learning-rate factor {options.BackboneLearningRateFactor} must be in (0, 1].");
        if (options.GradualUnfreezing < 0)
            throw new OnnxTransferException($"fine-tuning: gradual unfreezing {options.GradualUnfreezing} must be 0 (off) or the epochs per stage.");
        if (t.Spec.Dropout > 0)
            throw new OnnxTransferException($"fine-tuning: head '{t.Spec}' uses dropout, which fine-tuning does not support yet; drop the ':dropout' part of the spec.");
    }

    /// <summary>The sorted training classes, after checking every item is labelled and validation has no unknown class.</summary>
    private static string[] Classes(IReadOnlyList<DatasetItem> train, IReadOnlyList<DatasetItem>? val)
    {
        if (train.Count == 0) throw new OnnxTransferException("fine-tuning: the training data is empty; point at a labelled dataset.");
        if (train.Concat(val ?? []).FirstOrDefault(i => i.Label.Length == 0) is { } unlabelled)
            throw new OnnxTransferException($"{unlabelled.Path}: no label; fine-tuning needs labelled images.");
        var classes = train.Select(i => i.Label).Distinct().Order(StringComparer.Ordinal).ToArray();
        if (val is not null && val.FirstOrDefault(i => Array.BinarySearch(classes, i.Label, StringComparer.Ordinal) < 0) is { } stray)
            throw new OnnxTransferException($"{stray.Path}: label '{stray.Label}' does not occur in the training data; add training examples of it.");
        return classes;
    }

    private static HeadTask TaskFor(TrainingOptions t, string[] classes)
    {
        var task = t.Task ?? (classes.Length == 2 ? HeadTask.Binary : HeadTask.MultiClass);
        return task == HeadTask.MultiLabel ? throw new OnnxTransferException("fine-tuning: multi-label heads are not supported yet; use a single-label task.") : task;
    }

    /// <summary>Per-sample element count of the boundary tensor.</summary>
    internal static int BoundarySize(FineTuneGraph graph) => checked((int)BoundaryShape(graph).Aggregate(1L, (a, d) => a * d));
}
