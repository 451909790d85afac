using System.Diagnostics;
using System.Runtime.InteropServices;
using Microsoft.ML.OnnxRuntime;
using OnnxTransfer.Data;
using OnnxTransfer.Export;
using OnnxTransfer.Features;
using OnnxTransfer.Imaging;
using OnnxTransfer.Onnx;
using OnnxTransfer.Training;
using OnnxTransfer.Training.Gradients;
using ModelMetadata = OnnxTransfer.Export.ModelMetadata;

namespace OnnxTransfer.Autodiff;

/// <summary>How <see cref="FineTuner"/> trains the last backbone layers with a new head.</summary>
public sealed record FineTuneOptions
{
    /// <summary>Layers with weights to unfreeze, counted back from the features (MobileNetV2: 4 = the last inverted-residual block and the final 1×1 conv).</summary>
    public int Unfreeze { get; init; } = 4;

    /// <summary>The backbone's learning rate as a fraction of the head's: pretrained weights need small steps, a fresh head large ones.</summary>
    public double BackboneLearningRateFactor { get; init; } = 0.1;

    /// <summary>Head spec, epochs, batch, base (head) learning rate and schedule, AdamW settings, patience, seed. Dropout heads are not supported here.</summary>
    public TrainingOptions Training { get; init; } = new() { Epochs = 15, BatchSize = 16, LearningRate = 1e-3, Patience = 4 };

    /// <summary>Images per run of the frozen prefix while caching activations.</summary>
    public int PrefixBatchSize { get; init; } = 16;

    /// <summary>
    /// Cache the boundary activations in this Parquet feature store (written by <see cref="FeatureExtractor"/> with the
    /// frozen prefix as its model: resumable, reused by a re-run with the same backbone, cut and unfreeze count);
    /// null keeps them in memory only.
    /// </summary>
    public string? ActivationStore { get; init; }

    /// <summary>
    /// Augment the training images (random resized crop, flip; <see cref="ImageAugmentation.Light"/> is the usual choice),
    /// drawn per epoch and item from <see cref="TrainingOptions.Seed"/>. The frozen prefix then runs on every training
    /// image every epoch (<see cref="AugmentedActivations"/>) instead of once; validation images stay unaugmented and are
    /// cached in memory (<see cref="ActivationStore"/> is not used). Training images that cannot be decoded are left out by
    /// a first pass over them. In the result, <see cref="FineTuneResult.EpochTime"/> then includes the prefix runs, and
    /// <see cref="FineTuneResult.CacheTime"/> / <see cref="FineTuneResult.PrefixRuns"/> cover that pass and the validation
    /// cache only. Null (default) = no augmentation: on hymenoptera (last block) an epoch cost 1.2–1.8× a cached one and validation accuracy did not rise.
    /// </summary>
    public ImageAugmentation? Augmentation { get; init; }

    /// <summary>
    /// Gradual unfreezing (ULMFiT): epochs per stage, 0 = off (every unfrozen layer trains from the first epoch). Stage 0
    /// trains the head only; each next stage also trains one more layer, nearest the features first, until all
    /// <see cref="Unfreeze"/> layers train (from epoch Unfreeze × this + 1 on, so train at least that many epochs). A layer not
    /// yet released gets no update at all (no weight decay, its AdamW state stays zero, its bias correction counts its own
    /// steps); the backbone keeps <see cref="BackboneLearningRateFactor"/>. Early stopping only ends the run in the last stage.
    /// </summary>
    public int GradualUnfreezing { get; init; }

    /// <summary>
    /// Checkpoint file written (atomically) after every epoch; null = none. When it exists and was written by the same run
    /// (same layers, backbone weights, options, items and activations), training continues after its last epoch and ends
    /// bit-identical to an uninterrupted run; a checkpoint of another run is refused (delete it to start over). The file is
    /// left in place after the run; <see cref="Learner.FineTuneAsync"/> deletes it once the model is saved.
    /// </summary>
    public string? CheckpointPath { get; init; }
}

/// <summary>What <see cref="FineTuner.Fit"/> produced.</summary>
/// <param name="Model">The merged, deployable model (fine-tuned backbone + head), metadata included.</param>
/// <param name="TunedBackbone">The cut backbone carrying the fine-tuned weights.</param>
/// <param name="HeadEval">The head's eval graph with its kept parameters.</param>
/// <param name="Graph">The prefix/training graphs used.</param>
/// <param name="Classes">Class names, index order.</param>
/// <param name="History">Per-epoch metrics.</param>
/// <param name="CacheTime">Time to fill the activation cache: decode and run the frozen prefix once per image (near 0 when a finished store was reused).</param>
/// <param name="PrefixRuns">Images the frozen prefix ran on in this call (0 when a finished activation store was reused).</param>
/// <param name="EpochTime">Mean time of one training epoch on the cached activations (suffix + head forward/backward + updates).</param>
public sealed record FineTuneResult(OnnxModel Model, OnnxModel TunedBackbone, OnnxModel HeadEval, FineTuneGraph Graph,
    string[] Classes, IReadOnlyList<EpochMetrics> History, TimeSpan CacheTime, int PrefixRuns, TimeSpan EpochTime)
{
    /// <summary>Epochs taken from a checkpoint rather than run in this call (0 = started fresh); <see cref="History"/> includes them.</summary>
    public int ResumedEpochs { get; init; }
}

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
    /// The frozen prefix runs once per image (<see cref="CacheActivations"/> or <see cref="CacheInStore"/>), then <see cref="Train"/> runs;
    /// with <see cref="FineTuneOptions.Augmentation"/> only validation is cached and training images go through the prefix every
    /// epoch (<see cref="AugmentedActivations"/>).
    /// </summary>
    /// <exception cref="OnnxTransferException">Bad options, empty data, unlabelled items, or a backbone the graph builder refuses.</exception>
    public static FineTuneResult Fit(OnnxModel cutBackbone, ImagePreprocessing preprocessing, IReadOnlyList<DatasetItem> train,
        IReadOnlyList<DatasetItem>? val, FineTuneOptions options, ModelMetadata metadata, IProgress<ProgressUpdate>? progress = null, CancellationToken ct = default)
    {
        var t = options.Training;
        ValidateOptions(options);
        var classes = Classes(train, val);
        if (val is null && t.ValidationFraction > 0)
        {
            var indices = TrainingSet.SingleLabel(new float[train.Count], 1, train.Select(i => Array.BinarySearch(classes, i.Label, StringComparer.Ordinal)).ToArray(), classes);
            var (tr, va) = Trainer.StratifiedSplit(indices, t.ValidationFraction, t.Seed);
            if (va.Length > 0) { val = va.Select(i => train[i]).ToArray(); train = tr.Select(i => train[i]).ToArray(); }
        }
        var task = TaskFor(t, classes);
        var backbone = FloatBackbone(cutBackbone);
        var graph = FineTuneGraphBuilder.Build(backbone, t.Spec, task, classes.Length, options.Unfreeze, t.LabelSmoothing);

        var clock = Stopwatch.StartNew();
        var encoder = new ImageEncoder(preprocessing);
        var shape = BoundaryShape(graph);
        if (options.Augmentation is { } augmentation)
            return FitAugmented(backbone, graph, encoder, augmentation, train, val, options, metadata, progress, ct);
        ActivationSet trainSet;
        ActivationSet? valSet = null;
        var prefixRuns = train.Count + (val?.Count ?? 0);
        if (options.ActivationStore is { } store)
        {
            var (cache, kept, written) = CacheInStore(graph, encoder, preprocessing, train.Concat(val ?? []).ToArray(), store, options.PrefixBatchSize, progress, ct);
            prefixRuns = written;
            var all = new ActivationSet(cache, shape, kept);
            var index = kept.Select((item, i) => (item.Id, i)).ToDictionary(x => x.Id, x => x.i, StringComparer.Ordinal);
            ActivationSet Slice(IReadOnlyList<DatasetItem> items) => all.Subset(items.Where(i => index.ContainsKey(i.Id)).Select(i => index[i.Id]).ToArray());
            trainSet = Slice(train);
            if (val is not null) valSet = Slice(val);
        }
        else
        {
            var (trainCache, trainFailed) = CacheActivations(graph, encoder, train, options.PrefixBatchSize, t.Threads, progress, ct);
            trainSet = Readable(new ActivationSet(trainCache, shape, train), trainFailed);
            if (val is not null)
            {
                var (cache, failed) = CacheActivations(graph, encoder, val, options.PrefixBatchSize, t.Threads, progress, ct);
                valSet = Readable(new ActivationSet(cache, shape, val), failed);
            }
        }
        if (trainSet.Items.Count == 0) throw new OnnxTransferException("fine-tuning: no training image could be read; check the dataset's files.");
        if (valSet is { Items.Count: 0 }) valSet = null;
        var cacheTime = clock.Elapsed;
        var result = Train(backbone, graph, trainSet, valSet, options, metadata, progress, ct);
        return result with { CacheTime = cacheTime, PrefixRuns = prefixRuns };
    }

    /// <summary>Metadata key recording the training augmentation (text form and seed) of the exported model; absent when none.</summary>
    public const string AugmentationMetadataKey = "onnxtransfer.augmentation";

    // Fit with augmented training images: unreadable ones are left out by a first decoding pass, the training source
    // runs the prefix per batch, validation is cached in memory (unaugmented).
    private static FineTuneResult FitAugmented(OnnxModel backbone, FineTuneGraph graph, ImageEncoder encoder, ImageAugmentation augmentation,
        IReadOnlyList<DatasetItem> train, IReadOnlyList<DatasetItem>? val, FineTuneOptions options, ModelMetadata metadata, IProgress<ProgressUpdate>? progress, CancellationToken ct)
    {
        var t = options.Training;
        var clock = Stopwatch.StartNew();
        var unreadable = AugmentedActivations.FindUnreadable(encoder, train, progress, ct).ToHashSet();
        train = train.Where((_, i) => !unreadable.Contains(i)).ToArray();
        if (train.Count == 0) throw new OnnxTransferException("fine-tuning: no training image could be read; check the dataset's files.");
        ActivationSet? valSet = null;
        if (val is not null)
        {
            var (cache, failed) = CacheActivations(graph, encoder, val, options.PrefixBatchSize, t.Threads, progress, ct);
            valSet = Readable(new ActivationSet(cache, BoundaryShape(graph), val), failed);
            if (valSet.Items.Count == 0) valSet = null;
        }
        var cacheTime = clock.Elapsed;
        using var source = new AugmentedActivations(graph, new AugmentedImageEncoder(encoder.Preprocessor.Preprocessing, augmentation, t.Seed, encoder.Decoder), train, t.Threads);
        var result = Train(backbone, graph, source, valSet, options, metadata, progress, ct);
        result.Model.SetMetadata(AugmentationMetadataKey, FormattableString.Invariant($"{augmentation}; seed {t.Seed}"));
        return result with { CacheTime = cacheTime, PrefixRuns = val?.Count ?? 0 };
    }

    /// <summary>
    /// Trains the unfrozen layers and the head on activations at <paramref name="graph"/>'s boundary and exports the merged
    /// model. This is <see cref="Fit"/> without the caching, for callers that already hold the activations (a learning
    /// curve reusing one cache for many subsets) or compute them per batch (augmentation). Classes are the sorted distinct
    /// training labels; <paramref name="val"/> (optional) drives early stopping. With <see cref="FineTuneOptions.CheckpointPath"/>
    /// the state is saved after every epoch and a checkpoint of the same run is continued (bit-identical to an uninterrupted run);
    /// with <see cref="FineTuneOptions.GradualUnfreezing"/> the layers are released one stage at a time.
    /// </summary>
    /// <param name="backbone">The float cut backbone the graph was built from (<see cref="FloatBackbone"/>).</param>
    /// <exception cref="OnnxTransferException">Bad options, empty data, unlabelled items, divergence, or a checkpoint of another run.</exception>
    public static FineTuneResult Train(OnnxModel backbone, FineTuneGraph graph, IActivationSource train, IActivationSource? val,
        FineTuneOptions options, ModelMetadata metadata, IProgress<ProgressUpdate>? progress = null, CancellationToken ct = default)
    {
        var t = options.Training;
        ValidateOptions(options);
        var classes = Classes(train.Items, val?.Items);
        var task = TaskFor(t, classes);
        var boundaryShape = train.SampleShape.ToArray();
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
        int StageOf(int epoch) => options.GradualUnfreezing == 0 ? 0 : Math.Min((epoch - 1) / options.GradualUnfreezing, finalStage);

        // Start state: a checkpoint of this very run, or seeded initialisation.
        var fingerprint = options.CheckpointPath is null ? null : Fingerprint(graph, options, train, val);
        FineTuneCheckpoint? resumed = null;
        if (options.CheckpointPath is { } checkpointPath && File.Exists(checkpointPath))
        {
            resumed = FineTuneCheckpoint.Load(checkpointPath);
            if (resumed.Difference(fingerprint!) is { } diff)
                throw new OnnxTransferException($"{checkpointPath}: a checkpoint of another fine-tuning run ({diff} differ); rerun with the same data and options to resume it, or delete it to start over.");
            if (resumed.GroupSteps.Length != groups.Count || graph.Parameters.Any(p => resumed.State.Parameters.GetValueOrDefault(p.Name)?.Length != p.Count))
                throw new OnnxTransferException($"{checkpointPath}: the checkpoint's parameters do not fit the training graph; delete it to start over.");
        }
        var state = resumed?.State ?? new TrainingCheckpoint();
        var resumedEpochs = state.Epoch;
        var groupSteps = resumed?.GroupSteps.ToArray() ?? new long[groups.Count];
        SeededRandom rng;
        if (resumed is null)
        {
            rng = new SeededRandom(t.Seed);
            state.Parameters = graph.Parameters.ToDictionary(p => p.Name,
                p => graph.BackboneValues.TryGetValue(p.Name, out var v) ? v.ToArray() : Trainer.Initialise(p, rng), StringComparer.Ordinal);
            state.OptimizerState = graph.Parameters.SelectMany(p => OptimizerGraph.StateNames(t.Optimizer, p.Name).Select(s => (s, p.Count)))
                .ToDictionary(x => x.s, x => new float[x.Count], StringComparer.Ordinal);
        }
        else
        {
            rng = SeededRandom.FromState(state.RandomState);
            progress?.Report(new ProgressUpdate("fine-tune", state.Epoch, t.Epochs, "epochs", $"resumed from {options.CheckpointPath} after epoch {state.Epoch}"));
        }
        var values = state.Parameters;
        var optimizerState = state.OptimizerState;

        using var sessionOptions = new SessionOptions { IntraOpNumThreads = t.Threads, InterOpNumThreads = 1, ExecutionMode = ExecutionMode.ORT_SEQUENTIAL };
        var optimizers = groups.Select(g => g.Parameters.Count == 0 ? null : new InferenceSession(OptimizerGraph.Build(g.Parameters, t.Optimizer).ToBytes(), sessionOptions)).ToArray();
        try
        {
            using var session = new InferenceSession(graph.Training.ToBytes(), sessionOptions);
            var count = train.Items.Count;
            var batches = (count + t.BatchSize - 1) / t.BatchSize;
            long totalSteps = (long)batches * t.Epochs, step = state.Step;
            var order = new int[count];
            var trainingTime = TimeSpan.Zero;
            var epochsRun = 0;
            for (var epoch = state.Epoch + 1; epoch <= t.Epochs && !state.Stopped; epoch++)
            {
                var epochClock = Stopwatch.StartNew();
                var stage = StageOf(epoch);
                // A fresh permutation every epoch (not a shuffle of the last one), so a resumed run needs only the generator state.
                for (var i = 0; i < count; i++) order[i] = i;
                rng.Shuffle(order.AsSpan());
                double lossSum = 0, correct = 0, lr = 0;
                for (var start = 0; start < order.Length; start += t.BatchSize)
                {
                    ct.ThrowIfCancellationRequested();
                    var rows = order.AsSpan(start, Math.Min(t.BatchSize, order.Length - start)).ToArray();
                    var (loss, logits, gradients) = Run(session, graph, boundaryShape, train, epoch, trainLabels, rows, values, withGradients: true, classWeights);
                    if (!float.IsFinite(loss))
                        throw new OnnxTransferException($"fine-tuning diverged (loss {loss}) at epoch {epoch}; lower the learning rate (now {t.LearningRate}).");
                    lossSum += loss * rows.Length;
                    correct += Correct(task, logits, trainLabels, rows, classes.Length);
                    lr = t.LearningRateAt(step, totalSteps);
                    step++;
                    // Frozen groups (later stages) are not touched at all: no step, no weight decay, optimizer state stays zero.
                    for (var g = 0; g < groups.Count; g++)
                        if (groups[g].Stage <= stage && optimizers[g] is { } optimizer)
                            Update(optimizer, groups[g].Parameters, t.Optimizer, lr * groups[g].Factor, ++groupSteps[g], values, gradients!, optimizerState);
                }
                double? valLoss = null, valAccuracy = null;
                if (val is not null)
                {
                    double sum = 0, right = 0;
                    for (var start = 0; start < val.Items.Count; start += t.BatchSize)
                    {
                        var rows = Enumerable.Range(start, Math.Min(t.BatchSize, val.Items.Count - start)).ToArray();
                        var (loss, logits, _) = Run(session, graph, boundaryShape, val, 0, valLabels!, rows, values, withGradients: false);
                        sum += loss * rows.Length;
                        right += Correct(task, logits, valLabels!, rows, classes.Length);
                    }
                    valLoss = sum / val.Items.Count;
                    valAccuracy = right / val.Items.Count;
                }
                trainingTime += epochClock.Elapsed;
                epochsRun++;
                var metrics = new EpochMetrics(epoch, lossSum / count, correct / count, valLoss, valAccuracy, lr);
                state.History.Add(metrics);
                if (valLoss is { } l)
                {
                    if (l < state.BestScore)
                    {
                        (state.BestScore, state.BestEpoch, state.EpochsSinceBest) = (l, epoch, 0);
                        state.BestParameters = values.ToDictionary(kv => kv.Key, kv => kv.Value.ToArray(), StringComparer.Ordinal);
                    }
                    else
                    {
                        // Patience counts from the best epoch, but never from before the last stage began.
                        state.EpochsSinceBest = epoch - Math.Max(state.BestEpoch, finalStageStart - 1);
                        if (t.Patience > 0 && state.EpochsSinceBest >= t.Patience) state.Stopped = true;
                    }
                }
                (state.Epoch, state.Step, state.RandomState) = (epoch, step, rng.State);
                if (options.CheckpointPath is { } path)
                    new FineTuneCheckpoint { Fingerprint = fingerprint!, GroupSteps = groupSteps, State = state }.Save(path);
                var stageText = options.GradualUnfreezing == 0 ? "" : stage == 0 ? "head only, " : $"head + {stage} layer(s), ";
                progress?.Report(new ProgressUpdate("fine-tune", epoch, t.Epochs, "epochs",
                    stageText + FormattableString.Invariant($"loss {metrics.TrainLoss:F4}") + (valLoss is { } vl ? FormattableString.Invariant($", val loss {vl:F4}, val acc {valAccuracy:P1}") : "")));
            }

            var kept = state.BestParameters.Count > 0 ? state.BestParameters : values;
            var tuned = FineTuneGraphBuilder.WithWeights(backbone, graph.BackboneValues.Keys.ToDictionary(k => k, k => kept[k], StringComparer.Ordinal));
            var dim = graph.Parameters.Count == 0 ? 0 : checked((int)TensorShapeProbe.Infer(backbone, Backbones.BackboneCutter.FeaturesOutput).Shape![1].Value!.Value);
            var headEval = HeadGraphBuilder.BuildEval(t.Spec, task, dim, classes.Length, headParameters.ToDictionary(p => p.Name, p => kept[p.Name], StringComparer.Ordinal));
            var model = ModelExporter.Compose(tuned, headEval, metadata with { Labels = classes, Head = t.Spec.ToString(), Task = task.ToString().ToLowerInvariant() });
            // With gradual unfreezing the kept epoch may predate the last stage: say how many layers had been released by then.
            var gradual = options.GradualUnfreezing == 0 ? "" : FormattableString.Invariant($"; gradual unfreezing, {options.GradualUnfreezing} epoch(s) per stage");
            var keptStage = options.GradualUnfreezing == 0 || state.BestEpoch == 0 ? "" : FormattableString.Invariant($" (head + {StageOf(state.BestEpoch)} layer(s) trained)");
            model.SetMetadata(UnfrozenMetadataKey, FormattableString.Invariant(
                $"last {options.Unfreeze} layer(s) from '{graph.Boundary}': {string.Join(", ", graph.BackboneValues.Keys)}; backbone lr factor {options.BackboneLearningRateFactor}{gradual}; best epoch {state.BestEpoch}{keptStage}"));
            return new FineTuneResult(model, tuned, headEval, graph, classes, state.History, TimeSpan.Zero, 0, trainingTime / Math.Max(1, epochsRun))
            {
                ResumedEpochs = resumedEpochs,
            };
        }
        finally
        {
            foreach (var o in optimizers) o?.Dispose();
        }
    }

    /// <summary>
    /// The optimizer's parameter groups with their learning-rate factor and the stage from which they train: the backbone
    /// (× <see cref="FineTuneOptions.BackboneLearningRateFactor"/>) and the head, both from stage 0; with gradual unfreezing,
    /// the head from stage 0 and layer k (nearest the features first) from stage k + 1.
    /// </summary>
    private static List<(List<HeadParameter> Parameters, double Factor, int Stage)> ParameterGroups(FineTuneGraph graph, FineTuneOptions options)
    {
        var backbone = graph.Parameters.Where(p => graph.BackboneValues.ContainsKey(p.Name)).ToList();
        var head = graph.Parameters.Where(p => !graph.BackboneValues.ContainsKey(p.Name)).ToList();
        var factor = options.BackboneLearningRateFactor;
        if (options.GradualUnfreezing == 0) return [(backbone, factor, 0), (head, 1.0, 0)];
        if (graph.Layers.Count == 0)
            throw new OnnxTransferException("fine-tuning: gradual unfreezing needs the graph's layers; build the graph with FineTuneGraphBuilder.Build.");
        var groups = new List<(List<HeadParameter>, double, int)> { (head, 1.0, 0) };
        var taken = new HashSet<string>(StringComparer.Ordinal);
        for (var k = 0; k < graph.Layers.Count; k++)
        {
            var names = graph.Layers[k].Parameters.ToHashSet(StringComparer.Ordinal);
            groups.Add((backbone.Where(p => names.Contains(p.Name) && taken.Add(p.Name)).ToList(), factor, k + 1));
        }
        return groups;
    }

    /// <summary>
    /// What a checkpoint must agree with to be continued, as one hash per part: the unfrozen layers and head (names,
    /// shapes, boundary), the starting backbone weights, the training options (minus where files go), the training and
    /// validation items (ids and labels, in order) and the first training activations (catches another prefix or preprocessing).
    /// </summary>
    private static Dictionary<string, string> Fingerprint(FineTuneGraph graph, FineTuneOptions options, IActivationSource train, IActivationSource? val)
    {
        static string Hash(Action<System.Security.Cryptography.IncrementalHash> add)
        {
            using var hash = System.Security.Cryptography.IncrementalHash.CreateHash(System.Security.Cryptography.HashAlgorithmName.SHA256);
            add(hash);
            return Convert.ToHexStringLower(hash.GetHashAndReset());
        }
        static void Text(System.Security.Cryptography.IncrementalHash h, string s) => h.AppendData(System.Text.Encoding.UTF8.GetBytes(s + "\n"));
        static string Items(IReadOnlyList<DatasetItem> items) => Hash(h => { foreach (var i in items) Text(h, i.Id + "\t" + i.Label); });
        var rows = Enumerable.Range(0, Math.Min(8, train.Items.Count)).ToArray();
        var sample = new float[rows.Length * (int)train.SampleShape.Aggregate(1L, (a, d) => a * d)];
        train.Fill(0, rows, sample);
        var settings = options with { ActivationStore = null, CheckpointPath = null, PrefixBatchSize = 0 };
        return new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["layers and head"] = Hash(h =>
            {
                Text(h, graph.Boundary + " " + string.Join(",", train.SampleShape));
                foreach (var p in graph.Parameters) Text(h, p.Name + " " + string.Join(",", p.Dims));
            }),
            ["backbone weights"] = Hash(h => { foreach (var p in graph.Parameters) if (graph.BackboneValues.TryGetValue(p.Name, out var v)) h.AppendData(MemoryMarshal.AsBytes(v.AsSpan())); }),
            ["options"] = Hash(h => Text(h, System.Text.Json.JsonSerializer.Serialize(settings))),
            ["training items"] = Items(train.Items),
            ["validation items"] = val is null ? "none" : Items(val.Items),
            ["training activations"] = Hash(h => h.AppendData(MemoryMarshal.AsBytes(sample.AsSpan()))),
        };
    }

    /// <summary>The float twin of a cut backbone: itself, or dequantized once when it is quantized.</summary>
    public static OnnxModel FloatBackbone(OnnxModel cutBackbone) =>
        Dequantizer.IsQuantized(cutBackbone) ? Dequantizer.Dequantize(cutBackbone).Model : cutBackbone;

    /// <summary>Per-sample shape of the boundary tensor (no batch dimension).</summary>
    public static long[] BoundaryShape(FineTuneGraph graph) =>
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

    /// <summary>
    /// Runs the frozen prefix once over <paramref name="items"/> and returns the boundary activations, one
    /// [per-sample size] slice per item in order, and the indices of items that could not be decoded (their slices are zeros).
    /// </summary>
    public static (float[] Cache, IReadOnlyList<int> Failed) CacheActivations(FineTuneGraph graph, ImageEncoder encoder, IReadOnlyList<DatasetItem> items, int batchSize = 16,
        int threads = 1, IProgress<ProgressUpdate>? progress = null, CancellationToken ct = default)
    {
        using var sessionOptions = new SessionOptions { IntraOpNumThreads = threads, InterOpNumThreads = 1 };
        using var session = new InferenceSession(graph.Prefix.ToBytes(), sessionOptions);
        using var runOptions = new RunOptions();
        var sampleShape = encoder.SampleShape.ToArray();
        var sampleSize = (int)sampleShape.Aggregate(1L, (a, b) => a * b);
        var size = BoundarySize(graph);
        var cache = new float[checked(items.Count * size)];
        var failed = new List<int>();
        for (var start = 0; start < items.Count; start += batchSize)
        {
            ct.ThrowIfCancellationRequested();
            var n = Math.Min(batchSize, items.Count - start);
            var images = new float[n * sampleSize];
            var first = start;
            Parallel.For(0, n, k =>
            {
                try { encoder.Encode(items[first + k], images.AsSpan(k * sampleSize, sampleSize)); }
                catch (ImageDecodeException) { lock (failed) failed.Add(first + k); }
            });
            using var input = OrtValue.CreateTensorValueFromMemory(images, [n, .. sampleShape]);
            using var output = session.Run(runOptions, [session.InputNames[0]], [input], [graph.Boundary]);
            output[0].GetTensorDataAsSpan<float>().CopyTo(cache.AsSpan(start * size, n * size));
            progress?.Report(new ProgressUpdate("cache", start + n, items.Count, "images", graph.Boundary));
        }
        failed.Sort();
        return (cache, failed);
    }

    /// <summary>The set without the unreadable items.</summary>
    private static ActivationSet Readable(ActivationSet set, IReadOnlyList<int> failed)
    {
        if (failed.Count == 0) return set;
        var skip = failed.ToHashSet();
        return set.Subset(Enumerable.Range(0, set.Items.Count).Where(i => !skip.Contains(i)).ToArray());
    }

    /// <summary>
    /// Caches the boundary activations of <paramref name="items"/> in a Parquet feature store (flattened rows), resuming
    /// an unfinished or reusing a finished one, and returns them with the items that could be read, in store order, and how
    /// many items the prefix ran on now.
    /// </summary>
    public static (float[] Cache, IReadOnlyList<DatasetItem> Items, int Computed) CacheInStore(FineTuneGraph graph, ImageEncoder encoder, ImagePreprocessing preprocessing,
        IReadOnlyList<DatasetItem> items, string storePath, int batchSize = 16, IProgress<ProgressUpdate>? progress = null, CancellationToken ct = default)
    {
        var size = BoundarySize(graph);
        var model = graph.Prefix.Clone();
        var g = new GraphBuilder(model.Graph);
        const string output = "activations";
        g.Alias(g.Node("Flatten", [graph.Boundary], OnnxAttribute.Int("axis", 1)), output);
        GraphEditor.SetOutputs(model.Graph, GraphBuilder.ValueInfo(output, Onnx.Proto.TensorProto.Types.DataType.Float, [null, size], ["N"]));
        var bytes = model.ToBytes();
        var description = new FeatureStoreMetadata(graph.Prefix.DisplayName + " prefix", Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(bytes)),
            graph.Boundary, preprocessing.ToString(), size);
        using var session = new InferenceSession(bytes);
        var summary = new FeatureExtractor(session, encoder, description)
            .RunAsync(items, storePath, new FeatureExtractionOptions { BatchSize = batchSize, OutputName = output }, progress, ct).GetAwaiter().GetResult();
        var table = FeatureStore.Read(summary.Output);
        var byId = items.GroupBy(i => i.Id, StringComparer.Ordinal).ToDictionary(x => x.Key, x => x.First(), StringComparer.Ordinal);
        var kept = new List<DatasetItem>();
        var rows = new List<int>();
        for (var r = 0; r < table.Count; r++)
            if (byId.TryGetValue(table.Paths[r], out var item)) { kept.Add(item); rows.Add(r); } // the store's path column holds item ids
        var cache = new float[rows.Count * size];
        for (var k = 0; k < rows.Count; k++) table.Row(rows[k]).CopyTo(cache.AsSpan(k * size, size));
        return (cache, kept, summary.Written);
    }

    /// <summary>Per-sample element count of the boundary tensor.</summary>
    public static int BoundarySize(FineTuneGraph graph) => checked((int)BoundaryShape(graph).Aggregate(1L, (a, d) => a * d));

    private static (float Loss, float[] Logits, Dictionary<string, float[]>? Gradients) Run(InferenceSession session, FineTuneGraph graph, long[] shape,
        IActivationSource source, int epoch, long[] labels, int[] rows, Dictionary<string, float[]> values, bool withGradients, float[]? classWeights = null)
    {
        var size = checked((int)shape.Aggregate(1L, (a, d) => a * d));
        var x = new float[rows.Length * size];
        source.Fill(epoch, rows, x);
        var names = new List<string> { graph.Boundary, HeadGraphBuilder.Labels, HeadGraphBuilder.Weights };
        var inputs = new List<OrtValue>
        {
            OrtValue.CreateTensorValueFromMemory(x, [rows.Length, .. shape]),
            OrtValue.CreateTensorValueFromMemory(rows.Select(r => labels[r]).ToArray(), [rows.Length]),
            OrtValue.CreateTensorValueFromMemory(rows.Select(r => classWeights?[labels[r]] ?? 1f).ToArray(), [rows.Length]),
        };
        foreach (var p in graph.Parameters)
        {
            names.Add(p.Name);
            inputs.Add(OrtValue.CreateTensorValueFromMemory(values[p.Name], p.Dims));
        }
        var outputs = new List<string> { HeadGraphBuilder.Loss, HeadGraphBuilder.Logits };
        if (withGradients) outputs.AddRange(graph.Parameters.Select(p => GradientGraph.GradientName(p.Name)));
        try
        {
            using var runOptions = new RunOptions();
            using var results = session.Run(runOptions, names, inputs, outputs);
            var gradients = withGradients
                ? graph.Parameters.Select((p, i) => (p.Name, Values: results[2 + i].GetTensorDataAsSpan<float>().ToArray())).ToDictionary(t => t.Name, t => t.Values, StringComparer.Ordinal)
                : null;
            return (results[0].GetTensorDataAsSpan<float>()[0], results[1].GetTensorDataAsSpan<float>().ToArray(), gradients);
        }
        finally
        {
            foreach (var v in inputs) v.Dispose();
        }
    }

    private static void Update(InferenceSession optimizer, IReadOnlyList<HeadParameter> parameters, OptimizerSettings settings, double lr, long step,
        Dictionary<string, float[]> values, Dictionary<string, float[]> gradients, Dictionary<string, float[]> state)
    {
        if (parameters.Count == 0) return;
        var names = new List<string> { OptimizerGraph.LearningRate, OptimizerGraph.Step };
        var inputs = new List<OrtValue> { OrtValue.CreateTensorValueFromMemory(new[] { (float)lr }, []), OrtValue.CreateTensorValueFromMemory(new[] { (float)step }, []) };
        var outputs = new List<string>();
        void Add(string name, float[] data, long[] dims) { names.Add(name); inputs.Add(OrtValue.CreateTensorValueFromMemory(data, dims)); }
        foreach (var p in parameters) { Add(p.Name, values[p.Name], p.Dims); outputs.Add(OptimizerGraph.UpdatedName(p.Name)); }
        foreach (var p in parameters) Add(HeadGraphBuilder.GradientName(p.Name), gradients[p.Name], p.Dims);
        foreach (var p in parameters)
            foreach (var s in OptimizerGraph.StateNames(settings, p.Name)) { Add(s, state[s], p.Dims); outputs.Add(OptimizerGraph.UpdatedName(s)); }
        try
        {
            using var runOptions = new RunOptions();
            using var results = optimizer.Run(runOptions, names, inputs, outputs);
            var i = 0;
            foreach (var p in parameters) values[p.Name] = results[i++].GetTensorDataAsSpan<float>().ToArray();
            foreach (var p in parameters)
                foreach (var s in OptimizerGraph.StateNames(settings, p.Name)) state[s] = results[i++].GetTensorDataAsSpan<float>().ToArray();
        }
        finally
        {
            foreach (var v in inputs) v.Dispose();
        }
    }

    private static int Correct(HeadTask task, float[] logits, long[] labels, int[] rows, int classes)
    {
        var correct = 0;
        var width = task == HeadTask.Binary ? 1 : classes;
        for (var k = 0; k < rows.Length; k++)
        {
            var row = logits.AsSpan(k * width, width);
            var predicted = task == HeadTask.Binary ? (row[0] > 0 ? 1 : 0) : System.Numerics.Tensors.TensorPrimitives.IndexOfMax(row);
            if (predicted == labels[rows[k]]) correct++;
        }
        return correct;
    }
}
