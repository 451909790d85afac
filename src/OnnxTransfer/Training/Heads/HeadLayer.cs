using OnnxTransfer.Onnx.Autodiff;
using OnnxTransfer.Training.Engine;

namespace OnnxTransfer.Training.Heads;

/// <summary>
/// One layer of a head with its forward pass and its gradient rule, emitted as ONNX ops. Forward
/// remembers the tensors its backward needs (like micrograd's closures); Backward receives dL/dy and
/// records dL/d(parameter) in <c>grads</c>, returning dL/dx when asked.
/// </summary>
internal abstract class HeadLayer
{
    public virtual IReadOnlyList<HeadParameter> Parameters => [];

    public abstract string Forward(OpEmitter e, string x, bool training);

    public abstract string? Backward(OpEmitter e, string dy, bool needInputGradient, IDictionary<string, string> grads);
}
