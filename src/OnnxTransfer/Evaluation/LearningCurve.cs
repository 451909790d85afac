using OnnxTransfer.Training.Engine;

namespace OnnxTransfer.Evaluation;

/// <summary>The training history shown in a report: the metrics of every epoch and the one whose parameters were kept.</summary>
/// <param name="Epochs">Per-epoch training and validation metrics.</param>
/// <param name="KeptEpoch">The 1-based epoch whose parameters the model carries (0: unknown).</param>
/// <param name="Axis">What one step of the history is (an epoch, or an L2 strength tried by the L-BFGS solver).</param>
public sealed record LearningCurve(IReadOnlyList<EpochMetrics> Epochs, int KeptEpoch, string Axis = "epoch");
