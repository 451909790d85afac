namespace OnnxTransfer.Backbones;

/// <summary>Where and how <see cref="BackboneCutter"/> cuts a model.</summary>
public sealed record CutOptions
{
    /// <summary>The value of <see cref="At"/> that lets <see cref="FeatureTensorFinder"/> choose.</summary>
    public const string Auto = "auto";

    /// <summary>The tensor to cut at, or <see cref="Auto"/> (the best candidate).</summary>
    public string At { get; init; } = Auto;

    /// <summary>
    /// Pooling to apply; null means: for <see cref="Auto"/>, what the chosen candidate needs; for a named
    /// tensor, <see cref="FeaturePool.None"/>. With <see cref="Auto"/> and a pooling given, the best
    /// candidate that needs exactly that pooling is chosen.
    /// </summary>
    public FeaturePool? Pool { get; init; }
}

/// <summary>What a cut will do, decided before the graph is edited (the CLI prints it).</summary>
/// <param name="Tensor">The tensor cut at.</param>
/// <param name="Source">Its element type and shape.</param>
/// <param name="Pool">Pooling applied.</param>
/// <param name="Dequantize">Scale and zero point used to dequantize it, or null for a float tensor.</param>
/// <param name="Dimension">D of the [N,D] output.</param>
/// <param name="Reason">Why this tensor (the candidate's reason, or "named by the caller").</param>
internal sealed record CutPlan(string Tensor, Onnx.TensorInfo Source, FeaturePool Pool, Onnx.QuantizationParameters? Dequantize, long Dimension, string Reason);
