
namespace OnnxTransfer.Training.Engine;

/// <summary>
/// Parameters updated together by one optimizer graph, with their own learning-rate factor and the stage from which
/// they train (fastai's layer groups: the head from stage 0, backbone layers later under gradual unfreezing).
/// Each group counts its own optimizer steps (AdamW's bias correction, like PyTorch's per-parameter step).
/// </summary>
/// <param name="Parameters">The trainable tensors of the group.</param>
/// <param name="LearningRateFactor">Multiplies the schedule's learning rate for this group.</param>
/// <param name="Stage">First stage (0-based) in which the group is updated.</param>
internal sealed record ParameterGroup(IReadOnlyList<HeadParameter> Parameters, double LearningRateFactor = 1.0, int Stage = 0);
