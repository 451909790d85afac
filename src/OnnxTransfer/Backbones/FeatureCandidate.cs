using OnnxTransfer.Onnx;

namespace OnnxTransfer.Backbones;

/// <summary>How a cut turns a feature map into a vector.</summary>
public enum FeaturePool
{
    /// <summary>Use the tensor as it is (flattened to [N,D] when it has more than two dimensions).</summary>
    None,
    /// <summary>Average over the spatial dimensions (GlobalAveragePool): [N,C,H,W] becomes [N,C].</summary>
    Avg,
}

/// <summary>A tensor of a classifier that can serve as the feature vector of a new head.</summary>
/// <param name="Tensor">Tensor name in the graph (what <c>--at</c> takes).</param>
/// <param name="Info">Element type and shape (shape "?" when it could not be measured).</param>
/// <param name="Pool">The pooling a cut here needs to give one vector per item.</param>
/// <param name="Dimension">Feature dimension D after <paramref name="Pool"/> and flattening, or null when unknown.</param>
/// <param name="Quantization">Scale and zero point when the tensor is 8-bit quantized (the cut dequantizes it).</param>
/// <param name="Reason">Why this tensor is a candidate, for people.</param>
internal sealed record FeatureCandidate(
    string Tensor,
    TensorInfo Info,
    FeaturePool Pool,
    long? Dimension,
    QuantizationParameters? Quantization,
    string Reason)
{
    /// <summary>True when the tensor holds 8-bit quantized values.</summary>
    public bool IsQuantized => Info.IsEightBit;

    /// <summary>"472_quantized uint8 [N,1280] -> 1280-d".</summary>
    public override string ToString() =>
        $"{Tensor} {Info}" + (Dimension is { } d ? $" -> {d}-d" : "") + (Pool == FeaturePool.Avg ? " (pool avg)" : "");
}
