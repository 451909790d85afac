using OnnxTransfer.Onnx.Autodiff;
using OnnxTransfer.Training.Engine;

namespace OnnxTransfer.Training.Heads;

/// <summary>
/// LayerNorm over the last axis: x̂ = (x − μ)/√(σ² + ε), y = γ·x̂ + β (biased variance, as ONNX
/// LayerNormalization). Backward: dγ = Σ_batch dy·x̂, dβ = Σ_batch dy,
/// dx = (1/√(σ²+ε))·(dx̂ − mean(dx̂) − x̂·mean(dx̂·x̂)) with dx̂ = dy·γ.
/// Training writes the forward in primitives (so backward sees x̂ and 1/σ); inference in float32 uses
/// the LayerNormalization op itself.
/// </summary>
internal sealed class LayerNorm(string name, int size, double epsilon = 1e-5) : HeadLayer
{
    private string _xhat = "", _rstd = "";
    public HeadParameter Weight { get; } = new($"{name}.weight", [size], ParameterInit.Ones, false);
    public HeadParameter Bias { get; } = new($"{name}.bias", [size], ParameterInit.Zeros, false);
    public override IReadOnlyList<HeadParameter> Parameters => [Weight, Bias];

    public override string Forward(OpEmitter e, string x, bool training)
    {
        if (!training && e.ElementType == Onnx.Proto.TensorProto.Types.DataType.Float)
            return e.Graph.Node("LayerNormalization", [x, Weight.Name, Bias.Name],
                Onnx.OnnxAttribute.Int("axis", -1), Onnx.OnnxAttribute.Float("epsilon", (float)epsilon));
        var centered = e.Sub(x, e.MeanLastAxis(x, size));
        var variance = e.MeanLastAxis(e.Mul(centered, centered), size);
        _rstd = e.Div(e.Const(1), e.Sqrt(e.Add(variance, e.Const(epsilon))));
        _xhat = e.Mul(centered, _rstd);
        return e.Add(e.Mul(_xhat, Weight.Name), Bias.Name);
    }

    public override string? Backward(OpEmitter e, string dy, bool needInputGradient, IDictionary<string, string> grads)
    {
        grads[Weight.Name] = e.ReduceSum(e.Mul(dy, _xhat), false, 0);
        grads[Bias.Name] = e.ReduceSum(dy, false, 0);
        if (!needInputGradient) return null;
        var dxhat = e.Mul(dy, Weight.Name);
        var inner = e.Sub(e.Sub(dxhat, e.MeanLastAxis(dxhat, size)), e.Mul(_xhat, e.MeanLastAxis(e.Mul(dxhat, _xhat), size)));
        return e.Mul(inner, _rstd);
    }
}
