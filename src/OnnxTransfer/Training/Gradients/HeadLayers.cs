namespace OnnxTransfer.Training.Gradients;

/// <summary>How a parameter tensor is initialised from the seed.</summary>
public enum ParameterInit
{
    /// <summary>All zeros (biases, LayerNorm shift).</summary>
    Zeros,
    /// <summary>All ones (LayerNorm scale).</summary>
    Ones,
    /// <summary>He/Kaiming normal, std sqrt(2 / fan_in): layers followed by ReLU.</summary>
    HeNormal,
    /// <summary>Xavier/Glorot normal, std sqrt(2 / (fan_in + fan_out)): the output layer.</summary>
    XavierNormal,
}

/// <summary>One trainable tensor of a head: its graph name, shape and initialisation.</summary>
/// <param name="Name">Graph input / initializer name (e.g. "dense0.weight").</param>
/// <param name="Shape">Dimensions ([in, out] for weights, [out] for biases).</param>
/// <param name="Init">Initialisation rule.</param>
/// <param name="Decay">True when weight decay applies (weight matrices, not biases or LayerNorm).</param>
public sealed record HeadParameter(string Name, int[] Shape, ParameterInit Init, bool Decay)
{
    /// <summary>Number of elements.</summary>
    public int Count => Shape.Aggregate(1, (a, b) => a * b);

    /// <summary>The shape as ONNX dims.</summary>
    public long[] Dims => Shape.Select(d => (long)d).ToArray();
}

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

/// <summary>y = x·W + b with W [in,out]. dW = xᵀ·dy, db = Σ_batch dy, dx = dy·Wᵀ.</summary>
internal sealed class DenseLayer(string name, int inputs, int outputs, ParameterInit init) : HeadLayer
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

/// <summary>
/// LayerNorm over the last axis: x̂ = (x − μ)/√(σ² + ε), y = γ·x̂ + β (biased variance, as ONNX
/// LayerNormalization). Backward: dγ = Σ_batch dy·x̂, dβ = Σ_batch dy,
/// dx = (1/√(σ²+ε))·(dx̂ − mean(dx̂) − x̂·mean(dx̂·x̂)) with dx̂ = dy·γ.
/// Training writes the forward in primitives (so backward sees x̂ and 1/σ); inference in float32 uses
/// the LayerNormalization op itself.
/// </summary>
internal sealed class LayerNormLayer(string name, int size, double epsilon = 1e-5) : HeadLayer
{
    private string _xhat = "", _rstd = "";
    public HeadParameter Scale { get; } = new($"{name}.scale", [size], ParameterInit.Ones, false);
    public HeadParameter Shift { get; } = new($"{name}.bias", [size], ParameterInit.Zeros, false);
    public override IReadOnlyList<HeadParameter> Parameters => [Scale, Shift];

    public override string Forward(OpEmitter e, string x, bool training)
    {
        if (!training && e.ElementType == Onnx.Proto.TensorProto.Types.DataType.Float)
            return e.Graph.Node("LayerNormalization", [x, Scale.Name, Shift.Name],
                Onnx.OnnxAttribute.Int("axis", -1), Onnx.OnnxAttribute.Float("epsilon", (float)epsilon));
        var centered = e.Sub(x, e.MeanLastAxis(x, size));
        var variance = e.MeanLastAxis(e.Mul(centered, centered), size);
        _rstd = e.Div(e.Const(1), e.Sqrt(e.Add(variance, e.Const(epsilon))));
        _xhat = e.Mul(centered, _rstd);
        return e.Add(e.Mul(_xhat, Scale.Name), Shift.Name);
    }

    public override string? Backward(OpEmitter e, string dy, bool needInputGradient, IDictionary<string, string> grads)
    {
        grads[Scale.Name] = e.ReduceSum(e.Mul(dy, _xhat), false, 0);
        grads[Shift.Name] = e.ReduceSum(dy, false, 0);
        if (!needInputGradient) return null;
        var dxhat = e.Mul(dy, Scale.Name);
        var inner = e.Sub(e.Sub(dxhat, e.MeanLastAxis(dxhat, size)), e.Mul(_xhat, e.MeanLastAxis(e.Mul(dxhat, _xhat), size)));
        return e.Mul(inner, _rstd);
    }
}

/// <summary>y = max(x, 0). dx = dy where x &gt; 0, else 0.</summary>
internal sealed class ReluLayer : HeadLayer
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

/// <summary>
/// Inverted dropout with an explicit mask input (0 or 1/(1−p) per element, drawn by the trainer from
/// its seeded generator so nothing random hides from the seed). y = x·mask, dx = dy·mask; identity at
/// inference.
/// </summary>
internal sealed class DropoutLayer(string maskInput) : HeadLayer
{
    public string MaskInput { get; } = maskInput;

    public override string Forward(OpEmitter e, string x, bool training) => training ? e.Mul(x, MaskInput) : x;

    public override string? Backward(OpEmitter e, string dy, bool needInputGradient, IDictionary<string, string> grads) =>
        needInputGradient ? e.Mul(dy, MaskInput) : null;
}
