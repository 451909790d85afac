using OnnxTransfer.Onnx.Autodiff;

namespace OnnxTransfer.Training.Heads;

/// <summary>
/// Inverted dropout with an explicit mask input (0 or 1/(1−p) per element, drawn by the trainer from
/// its seeded generator so nothing random hides from the seed). y = x·mask, dx = dy·mask; identity at
/// inference.
/// </summary>
internal sealed class Dropout(string maskInput) : HeadLayer
{
    public string MaskInput { get; } = maskInput;

    public override string Forward(OpEmitter e, string x, bool training) => training ? e.Mul(x, MaskInput) : x;

    public override string? Backward(OpEmitter e, string dy, bool needInputGradient, IDictionary<string, string> grads) =>
        needInputGradient ? e.Mul(dy, MaskInput) : null;
}
