using OnnxTransfer.Onnx.Proto;

namespace OnnxTransfer.Onnx;

/// <summary>
/// The scale and zero point that give an 8-bit tensor of a quantized graph its real value,
/// <c>(q - zero_point) * scale</c> (what DequantizeLinear computes).
/// </summary>
/// <param name="Scale">Name of the float scale tensor.</param>
/// <param name="ZeroPoint">Name of the zero-point tensor, or "" when omitted (zero).</param>
internal sealed record QuantizationParameters(string Scale, string ZeroPoint)
{
    // Ops that read quantized tensors as (x, x_scale, x_zero_point) triples: data index -> scale index.
    private static readonly Dictionary<string, int[]> TripleReaders = new(StringComparer.Ordinal)
    {
        ["QLinearConv"] = [0, 3],
        ["QLinearMatMul"] = [0, 3],
        ["QLinearAdd"] = [0, 3],
        ["QLinearMul"] = [0, 3],
        ["QLinearGlobalAveragePool"] = [0],
        ["QLinearAveragePool"] = [0],
        ["QLinearSigmoid"] = [0],
        ["QLinearLeakyRelu"] = [0],
        ["QLinearSoftmax"] = [0],
        ["QLinearReduceMean"] = [0],
        ["DequantizeLinear"] = [0],
    };

    // Ops that produce a quantized tensor: index of the output's scale (zero point follows it).
    private static readonly Dictionary<string, int> OutputScaleIndex = new(StringComparer.Ordinal)
    {
        ["QuantizeLinear"] = 1,
        ["QLinearConv"] = 6,
        ["QLinearMatMul"] = 6,
        ["QLinearAdd"] = 6,
        ["QLinearMul"] = 6,
        ["QLinearGlobalAveragePool"] = 3,
        ["QLinearAveragePool"] = 3,
        ["QLinearSigmoid"] = 3,
        ["QLinearLeakyRelu"] = 3,
        ["QLinearSoftmax"] = 3,
        ["QLinearReduceMean"] = 3,
        ["QLinearConcat"] = 0,
    };

    // Ops that move quantized values without changing them, so their output keeps the input's parameters.
    private static readonly HashSet<string> ValuePreserving = new(StringComparer.Ordinal)
    {
        "Reshape", "Flatten", "Squeeze", "Unsqueeze", "Transpose", "Identity", "MaxPool", "Slice", "Gather",
        "Split", "DepthToSpace", "SpaceToDepth", "Resize", "Expand", "Tile",
    };

    /// <summary>
    /// Finds the parameters of an 8-bit tensor from the ops that read it (a QLinear op or DequantizeLinear reads
    /// it with its scale and zero point), else from the op that made it, looking through reshapes.
    /// Returns null when the graph does not say.
    /// </summary>
    public static QuantizationParameters? Find(GraphProto graph, string tensor)
    {
        var consumers = GraphEditor.Consumers(graph);
        var producers = GraphEditor.Producers(graph);
        return FromReaders(consumers, tensor) ?? FromProducer(consumers, producers, tensor, depth: 0);
    }

    private static QuantizationParameters? FromReaders(Dictionary<string, List<NodeProto>> consumers, string tensor)
    {
        if (!consumers.TryGetValue(tensor, out var readers)) return null;
        foreach (var node in readers)
        {
            if (node.OpType == "QLinearConcat")
            {
                for (var i = 2; i + 1 < node.Input.Count; i += 3)
                    if (node.Input[i] == tensor) return At(node, i + 1);
                continue;
            }
            if (!TripleReaders.TryGetValue(node.OpType, out var dataIndices)) continue;
            foreach (var i in dataIndices)
                if (i < node.Input.Count && node.Input[i] == tensor && i + 1 < node.Input.Count)
                    return At(node, i + 1);
        }
        return null;
    }

    private static QuantizationParameters? FromProducer(Dictionary<string, List<NodeProto>> consumers, Dictionary<string, NodeProto> producers, string tensor, int depth)
    {
        if (depth > 32 || !producers.TryGetValue(tensor, out var node)) return null;
        if (OutputScaleIndex.TryGetValue(node.OpType, out var s) && node.Output.Count > 0 && node.Output[0] == tensor && s < node.Input.Count)
            return At(node, s);
        if (ValuePreserving.Contains(node.OpType) && node.Input.Count > 0)
            return FromReaders(consumers, node.Input[0]) ?? FromProducer(consumers, producers, node.Input[0], depth + 1);
        return null;
    }

    private static QuantizationParameters At(NodeProto node, int scaleIndex) =>
        new(node.Input[scaleIndex], scaleIndex + 1 < node.Input.Count ? node.Input[scaleIndex + 1] : "");
}
