using OnnxTransfer.Features;
using OnnxTransfer.Imaging;
using OnnxTransfer.Onnx;
using OnnxTransfer.Training.Engine;
using OnnxTransfer.Training.Heads;

namespace OnnxTransfer.Training.FineTuning;

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
    /// cache only. Null (default) = no augmentation: on hymenoptera (last block) an epoch cost 1.2–1.8× a cached one and validation accuracy moved by at most one image.
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

/// <summary>What <see cref="FineTuner.FitAsync"/> produced.</summary>
/// <param name="Model">The merged, deployable model (fine-tuned backbone + head), metadata included.</param>
/// <param name="TunedBackbone">The cut backbone carrying the fine-tuned weights.</param>
/// <param name="HeadEval">The head's eval graph with its kept parameters.</param>
/// <param name="Classes">Class names, index order.</param>
/// <param name="History">Per-epoch metrics.</param>
/// <param name="CacheTime">Time to fill the activation cache: decode and run the frozen prefix once per image (near 0 when a finished store was reused).</param>
/// <param name="PrefixRuns">Images the frozen prefix ran on in this call (0 when a finished activation store was reused).</param>
/// <param name="EpochTime">Mean time of one training epoch on the cached activations (suffix + head forward/backward + updates).</param>
public sealed record FineTuneResult(OnnxModel Model, OnnxModel TunedBackbone, OnnxModel HeadEval,
    string[] Classes, IReadOnlyList<EpochMetrics> History, TimeSpan CacheTime, int PrefixRuns, TimeSpan EpochTime)
{
    /// <summary>Epochs taken from a checkpoint rather than run in this call (0 = started fresh); <see cref="History"/> includes them.</summary>
    public int ResumedEpochs { get; init; }

    /// <summary>The prefix/training graphs used.</summary>
    internal FineTuneGraph Graph { get; init; } = null!;

    /// <summary>The 1-based epoch whose parameters the model carries (the best on validation; the last without it).</summary>
    public int KeptEpoch { get; init; }
}
