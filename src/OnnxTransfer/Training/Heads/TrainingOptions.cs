using System.Text.Json.Serialization;
using OnnxTransfer.Training.Engine;

namespace OnnxTransfer.Training.Heads;

/// <summary>How the learning rate changes over the run (computed in C#, fed to the optimizer graph).</summary>
[JsonConverter(typeof(JsonStringEnumConverter<LearningRateSchedule>))]
public enum LearningRateSchedule
{
    /// <summary>The base rate throughout.</summary>
    Constant,
    /// <summary>Cosine decay from the base rate to 0 over all steps.</summary>
    Cosine,
    /// <summary>Linear warm-up over <see cref="TrainingOptions.WarmupFraction"/> of the steps, then linear decay to 0.</summary>
    WarmupLinear,
}

/// <summary>Per-class sample weights.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<ClassWeighting>))]
public enum ClassWeighting
{
    /// <summary><see cref="Balanced"/> when the largest class has over 1.5× the samples of the smallest, else <see cref="None"/>.</summary>
    Auto,
    /// <summary>Weight N / (C·n_c) per sample of class c (as scikit-learn's "balanced").</summary>
    Balanced,
    /// <summary>Every sample weighs 1.</summary>
    None,
}


/// <summary>Everything that shapes a training run. Stored in head.json so a run can resume.</summary>
public sealed record TrainingOptions
{
    /// <summary>Head architecture.</summary>
    [JsonIgnore] public HeadSpec Spec { get; init; } = HeadSpec.Linear;
    /// <summary><see cref="Spec"/> as text (for JSON).</summary>
    [JsonPropertyName("spec")] public string SpecText { get => Spec.ToString(); init => Spec = HeadSpec.Parse(value); }
    /// <summary>Task; null picks Binary for 2 classes, MultiClass for more.</summary>
    public HeadTask? Task { get; init; }
    /// <summary>Passes over the training data.</summary>
    public int Epochs { get; init; } = 30;
    /// <summary>Rows per mini-batch.</summary>
    public int BatchSize { get; init; } = 64;
    /// <summary>Base learning rate.</summary>
    public double LearningRate { get; init; } = 1e-2;
    /// <summary>Learning-rate schedule.</summary>
    public LearningRateSchedule Schedule { get; init; } = LearningRateSchedule.Cosine;
    /// <summary>Fraction of all steps used to warm up (for <see cref="LearningRateSchedule.WarmupLinear"/>).</summary>
    public double WarmupFraction { get; init; } = 0.1;
    /// <summary>Optimizer and its hyper-parameters (weight decay, clipping).</summary>
    public OptimizerSettings Optimizer { get; init; } = new();
    /// <summary>Label smoothing ε (multi-class; binary/multi-label use y·(1−ε)+ε/2).</summary>
    public double LabelSmoothing { get; init; }
    /// <summary>Class weighting.</summary>
    public ClassWeighting ClassWeighting { get; init; } = ClassWeighting.Auto;
    /// <summary>Stop after this many epochs without validation improvement (0 = never); the best parameters are restored.</summary>
    public int Patience { get; init; } = 10;
    /// <summary>The validation metric watched by early stopping.</summary>
    public ValidationMetric Monitor { get; init; } = ValidationMetric.Loss;
    /// <summary>Fraction of each class held out (stratified) when no validation set is given (0 = none). The L-BFGS solver of a linear head
    /// chooses its L2 strength on it, or by 5-fold cross-validation up to 2,000 rows, and then trains on every row.</summary>
    public double ValidationFraction { get; init; } = 0.1;
    /// <summary>Seed of every random choice.</summary>
    public ulong Seed { get; init; } = 1;
    /// <summary>Intra-op threads of the training sessions. Results are bit-identical for a seed at a fixed thread count on one machine (1 is safest; other CPUs may pick other kernels).</summary>
    public int Threads { get; init; } = 1;
    /// <summary>Free text describing where the features came from (backbone, layer, preprocessing), kept in head.json.</summary>
    public string FeatureSource { get; init; } = "";

    /// <summary>Throws <see cref="OnnxTransferException"/> naming the first bad value.</summary>
    public void Validate()
    {
        if (Epochs < 1) throw new OnnxTransferException($"training: epochs {Epochs} must be at least 1.");
        if (BatchSize < 1) throw new OnnxTransferException($"training: batch size {BatchSize} must be at least 1.");
        if (!(LearningRate > 0) || double.IsInfinity(LearningRate)) throw new OnnxTransferException($"training: learning rate {LearningRate} must be a positive number.");
        if (WarmupFraction is < 0 or >= 1) throw new OnnxTransferException($"training: warm-up fraction {WarmupFraction} must be in [0, 1).");
        if (LabelSmoothing is < 0 or >= 1) throw new OnnxTransferException($"training: label smoothing {LabelSmoothing} must be in [0, 1).");
        if (Patience < 0) throw new OnnxTransferException($"training: patience {Patience} must be 0 (off) or positive.");
        if (ValidationFraction is < 0 or >= 1) throw new OnnxTransferException($"training: validation fraction {ValidationFraction} must be in [0, 1).");
        if (Threads < 1) throw new OnnxTransferException($"training: threads {Threads} must be at least 1.");
        if (Optimizer.WeightDecay < 0 || Optimizer.ClipNorm < 0 || Optimizer.Momentum is < 0 or >= 1)
            throw new OnnxTransferException($"training: optimizer settings {Optimizer} are out of range (weight decay, clip norm ≥ 0; momentum in [0, 1)).");
    }

    /// <summary>The learning rate for 0-based <paramref name="step"/> of <paramref name="totalSteps"/>.</summary>
    public double LearningRateAt(long step, long totalSteps)
    {
        var progress = totalSteps <= 1 ? 0 : (double)step / totalSteps;
        switch (Schedule)
        {
            case LearningRateSchedule.Cosine:
                return LearningRate * 0.5 * (1 + Math.Cos(Math.PI * progress));
            case LearningRateSchedule.WarmupLinear:
                var warmup = Math.Max(1, (long)Math.Round(WarmupFraction * totalSteps));
                if (step < warmup) return LearningRate * (step + 1) / warmup;
                return LearningRate * Math.Max(0, (double)(totalSteps - step) / Math.Max(1, totalSteps - warmup));
            default:
                return LearningRate;
        }
    }
}
