
namespace OnnxTransfer.Training.Engine;

/// <summary>One trainable tensor of a head: its graph name, shape and initialisation.</summary>
/// <param name="Name">Graph input / initializer name (e.g. "dense0.weight").</param>
/// <param name="Shape">Dimensions ([in, out] for weights, [out] for biases).</param>
/// <param name="Init">Initialisation rule.</param>
/// <param name="Decay">True when weight decay applies (weight matrices, not biases or LayerNorm).</param>
internal sealed record HeadParameter(string Name, int[] Shape, ParameterInit Init, bool Decay)
{
    /// <summary>Number of elements.</summary>
    public int Count => Shape.Aggregate(1, (a, b) => a * b);

    /// <summary>The shape as ONNX dims.</summary>
    public long[] Dims => Shape.Select(d => (long)d).ToArray();
}
