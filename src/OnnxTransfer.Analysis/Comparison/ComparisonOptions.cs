using OnnxTransfer.Backbones;
using OnnxTransfer.Data;
using OnnxTransfer.Features;

namespace OnnxTransfer.Comparison;

/// <summary>How <see cref="BackboneComparison"/> probes the candidates; the split settings mean what they mean for `fit`.</summary>
internal sealed record ComparisonOptions
{
    /// <summary>Folds of the cross-validated probe (lowered to the smallest class's count when that is smaller).</summary>
    public int Folds { get; init; } = 5;

    /// <summary>Seed of the hold-out, the per-class limit and the folds.</summary>
    public ulong Seed { get; init; } = 1;

    /// <summary>Fraction fit holds out when the dataset has no val/test split; the probe never sees it.</summary>
    public double HoldoutFraction { get; init; } = 0.2;

    /// <summary>At most this many training items per class (null: all); then only those are extracted.</summary>
    public int? PerClass { get; init; }

    /// <summary>Items kept on one side of the hold-out and of every fold; null = none.</summary>
    public ItemGrouping? Grouping { get; init; }

    /// <summary>Read dataset items that resolve outside the dataset's folder.</summary>
    public bool AllowOutsidePaths { get; init; }

    /// <summary>How each backbone runs (device, image size limit).</summary>
    public FeatureBackboneOptions Backbone { get; init; } = new();

    /// <summary>How features are extracted (batch, decode workers).</summary>
    public FeatureExtractionOptions Extraction { get; init; } = new();

    /// <summary>Intra-op threads of the probe's training sessions.</summary>
    public int Threads { get; init; } = 1;

    /// <summary>Timed single-image runs per backbone (after <see cref="LatencyWarmup"/> untimed ones); the median is reported.</summary>
    public int LatencyRuns { get; init; } = 10;

    /// <summary>Untimed runs before the latency is measured.</summary>
    public int LatencyWarmup { get; init; } = 3;

    /// <summary>Training items run through the extraction pipeline to measure features/s.</summary>
    public int SpeedItems { get; init; } = 64;

    /// <summary>The settings of a `fit` with <paramref name="learner"/>: same split, extraction, device and seed.</summary>
    public static ComparisonOptions From(LearnerOptions learner) => new()
    {
        Seed = learner.Training.Seed, HoldoutFraction = learner.HoldoutFraction, PerClass = learner.PerClass,
        Grouping = learner.Grouping, AllowOutsidePaths = learner.AllowOutsidePaths,
        Backbone = learner.Backbone, Extraction = learner.Extraction, Threads = learner.Training.Threads,
    };

    /// <summary>Throws <see cref="OnnxTransferException"/> naming the first bad value.</summary>
    public void Validate()
    {
        if (Folds < 2) throw new OnnxTransferException($"--folds {Folds}: give at least 2 folds.");
        if (PerClass is < 1) throw new OnnxTransferException($"--per-class {PerClass}: give a positive number of examples per class.");
        if (HoldoutFraction is < 0 or >= 1) throw new OnnxTransferException($"--holdout {HoldoutFraction}: give a fraction in [0, 1).");
        if (Threads < 1) throw new OnnxTransferException($"--threads {Threads}: give at least 1.");
        if (LatencyRuns < 1 || LatencyWarmup < 0 || SpeedItems < 1)
            throw new OnnxTransferException("comparison: latency runs and speed items must be positive.");
    }
}
