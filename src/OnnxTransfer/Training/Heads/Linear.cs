using OnnxTransfer.Onnx.Autodiff;
using OnnxTransfer.Training.Engine;

namespace OnnxTransfer.Training.Heads;

/// <summary>y = x·W + b with W [in,out]. dW = xᵀ·dy, db = Σ_batch dy, dx = dy·Wᵀ.</summary>
internal sealed class Linear(string name, int inputs, int outputs, ParameterInit init) : HeadLayer
{
    private string _x = "";
    public HeadParameter Weight { get; } = new($"{name}.weight", [inputs, outputs], init, true);
    public HeadParameter Bias { get; } = new($"{name}.bias", [outputs], ParameterInit.Zeros, false);
    public override IReadOnlyList<HeadParameter> Parameters => [Weight, Bias];

    public override string Forward(OpEmitter e, string x, bool training)
    {
        _x = x;
        return e.Add(e.MatMul(x, Weight.Name), Bias.Name);
    }

    public override string? Backward(OpEmitter e, string dy, bool needInputGradient, IDictionary<string, string> grads)
    {
        grads[Weight.Name] = e.MatMul(e.Transpose(_x), dy);
        grads[Bias.Name] = e.ReduceSum(dy, false, 0);
        return needInputGradient ? e.MatMul(dy, e.Transpose(Weight.Name)) : null;
    }
}
