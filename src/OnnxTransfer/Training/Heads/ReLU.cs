using OnnxTransfer.Onnx.Autodiff;

namespace OnnxTransfer.Training.Heads;

/// <summary>y = max(x, 0). dx = dy where x &gt; 0, else 0.</summary>
internal sealed class ReLU : HeadLayer
{
    private string _x = "";

    public override string Forward(OpEmitter e, string x, bool training)
    {
        _x = x;
        return e.Relu(x);
    }

    public override string? Backward(OpEmitter e, string dy, bool needInputGradient, IDictionary<string, string> grads) =>
        needInputGradient ? e.Mul(dy, e.PositiveMask(_x)) : null;
}
