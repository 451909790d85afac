using System.Text.Json.Serialization;
using OnnxTransfer.Training.Heads;
using OnnxTransfer.Training.FineTuning;

namespace OnnxTransfer.Curves;

/// <summary>A way of learning from the examples that a <see cref="TransferCurve"/> compares.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<CurveMethod>))]
public enum CurveMethod
{
    /// <summary>Frozen backbone + linear head on its features.</summary>
    Frozen,
    /// <summary>The same with the last layers of the backbone fine-tuned together with the head.</summary>
    Unfrozen,
    /// <summary>The same layers fine-tuned with gradual unfreezing (head first, then one more layer per epoch), as <c>fit --unfreeze</c> does by default.</summary>
    Gradual,
    /// <summary>No transfer: the same linear head on downsampled raw pixels.</summary>
    Pixels,
}

/// <summary>What a <see cref="TransferCurve"/> runs. Defaults: 5, 10, 20, 50, 100 and all examples per class, 3 seeds, all four methods.</summary>
public sealed record CurveOptions
{
    /// <summary>Training examples per class; null = the whole training pool (every example, class balance as in the data).</summary>
    public IReadOnlyList<int?> Sizes { get; init; } = [5, 10, 20, 50, 100, null];

    /// <summary>Seeds: each picks its own subsets and its own initialisation and shuffling.</summary>
    public IReadOnlyList<ulong> Seeds { get; init; } = [1, 2, 3];

    /// <summary>The methods compared.</summary>
    public IReadOnlyList<CurveMethod> Methods { get; init; } = [CurveMethod.Frozen, CurveMethod.Unfrozen, CurveMethod.Gradual, CurveMethod.Pixels];

    /// <summary>Seeds used for the largest size only (null = all of <see cref="Seeds"/>): its runs cost the most, and its subsets barely vary.</summary>
    public int? SeedsForAll { get; init; }

    /// <summary>Backbone layers fine-tuned by <see cref="CurveMethod.Unfrozen"/> (MobileNetV2: 4 = the last block and the final 1×1 conv).</summary>
    public int Unfreeze { get; init; } = UnfreezeRule.LastBlock;

    /// <summary>Side of the square raw-pixel image of <see cref="CurveMethod.Pixels"/> (RGB, so 3·side² features).</summary>
    public int PixelSize { get; init; } = 32;

    /// <summary>Fraction of each class held out for evaluation when the dataset has no test or val split.</summary>
    public double HoldoutFraction { get; init; } = 0.2;

    /// <summary>Seed of that hold-out; fixed apart from <see cref="Seeds"/> so every run is scored on the same images.</summary>
    public ulong HoldoutSeed { get; init; } = 1;

    /// <summary>Items that must stay on one side of the hold-out (e.g. one patient's scans); null = none.</summary>
    public Data.ItemGrouping? Grouping { get; init; }

    /// <summary>
    /// No run takes fewer optimizer steps than this: with 5 examples per class one epoch is one step, so a fixed
    /// epoch count would leave the smallest subsets undertrained (epochs are raised until the steps are reached).
    /// </summary>
    public int MinSteps { get; init; } = 100;

    /// <summary>
    /// Fine-tuning runs take at most this many optimizer steps (epochs are lowered for large pools): a step of the
    /// unfrozen block costs ~1000× a linear head's, and a pretrained block converges in a few epochs of thousands of images.
    /// </summary>
    public int MaxFineTuneSteps { get; init; } = 1000;

    /// <summary>Linear head training of <see cref="CurveMethod.Frozen"/> and <see cref="CurveMethod.Pixels"/> (validation and early stopping are turned off).</summary>
    public TrainingOptions Head { get; init; } = new();

    /// <summary>Fine-tuning of <see cref="CurveMethod.Unfrozen"/> (its Unfreeze is replaced by <see cref="Unfreeze"/>; validation and early stopping are off).</summary>
    public FineTuneOptions FineTune { get; init; } = new();

    /// <summary>Intra-op threads of the training sessions.</summary>
    public int Threads { get; init; } = 1;

    /// <summary>Images per run of the frozen prefix while caching (and per pixel batch).</summary>
    public int BatchSize { get; init; } = 16;

    /// <summary>Throws <see cref="OnnxTransferException"/> naming the first bad value.</summary>
    public void Validate()
    {
        if (Sizes.Count == 0) throw new OnnxTransferException("curve: no sizes; give at least one number of examples per class (or all).");
        if (Sizes.FirstOrDefault(s => s is < 1) is { } bad) throw new OnnxTransferException($"curve: size {bad} must be at least 1 example per class.");
        if (Sizes.Distinct().Count() != Sizes.Count) throw new OnnxTransferException($"curve: sizes {string.Join(",", Sizes.Select(SizeText))} repeat a value; give each once.");
        if (Seeds.Count == 0) throw new OnnxTransferException("curve: no seeds; give at least one.");
        if (Seeds.Distinct().Count() != Seeds.Count) throw new OnnxTransferException($"curve: seeds {string.Join(",", Seeds)} repeat a value; give each once.");
        if (Methods.Count == 0 || Methods.Distinct().Count() != Methods.Count) throw new OnnxTransferException("curve: give each method (frozen, unfrozen, pixels) at most once, and at least one.");
        if (SeedsForAll is < 1) throw new OnnxTransferException($"curve: seeds for the largest size {SeedsForAll} must be at least 1.");
        if (Unfreeze < 1 && Methods.Any(m => m is CurveMethod.Unfrozen or CurveMethod.Gradual)) throw new OnnxTransferException($"curve: unfreeze {Unfreeze} must be at least 1 layer for the unfrozen method.");
        if (PixelSize is < 4 or > 256) throw new OnnxTransferException($"curve: pixel size {PixelSize} must be between 4 and 256.");
        if (HoldoutFraction is <= 0 or >= 1) throw new OnnxTransferException($"curve: hold-out fraction {HoldoutFraction} must be in (0, 1).");
        if (MaxFineTuneSteps < 1) throw new OnnxTransferException($"curve: maximum fine-tuning steps {MaxFineTuneSteps} must be at least 1.");
        if (MinSteps < 0) throw new OnnxTransferException($"curve: minimum steps {MinSteps} must be 0 or more.");
        if (Threads < 1 || BatchSize < 1) throw new OnnxTransferException("curve: threads and batch size must be at least 1.");
        if (FineTune.Augmentation is not null)
            throw new OnnxTransferException("curve: fine-tuning runs on cached activations, so augmentation cannot apply; leave FineTune.Augmentation null.");
        Head.Validate();
        FineTune.Training.Validate();
    }

    /// <summary>A size as text: the number, or "all".</summary>
    public static string SizeText(int? size) => size?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "all";

    /// <summary>Seeds run at <paramref name="size"/>: all of them, or <see cref="SeedsForAll"/> of them at the largest size.</summary>
    public IReadOnlyList<ulong> SeedsAt(int? size)
    {
        var largest = Sizes.Contains(null) ? null : Sizes.Max();
        return size == largest && SeedsForAll is { } n ? Seeds.Take(n).ToArray() : Seeds;
    }

    /// <summary>Epochs for <paramref name="rows"/> training rows: <paramref name="epochs"/>, raised so the run takes at least <see cref="MinSteps"/> steps.</summary>
    public int EpochsFor(int rows, int batchSize, int epochs)
    {
        var batches = Math.Max(1, (rows + batchSize - 1) / batchSize);
        return Math.Max(epochs, (MinSteps + batches - 1) / batches);
    }

    /// <summary>
    /// Epochs of a fine-tuning run: <see cref="EpochsFor"/>, lowered (to at least 1) so the run stays within
    /// <see cref="MaxFineTuneSteps"/>; at least <paramref name="minimumEpochs"/> (gradual unfreezing must reach every layer), even past that cap.
    /// </summary>
    public int FineTuneEpochsFor(int rows, int batchSize, int epochs, int minimumEpochs = 1)
    {
        var batches = Math.Max(1, (rows + batchSize - 1) / batchSize);
        return Math.Max(Math.Max(1, minimumEpochs), Math.Min(EpochsFor(rows, batchSize, epochs), MaxFineTuneSteps / batches));
    }
}
