using OnnxTransfer.Onnx;
using OnnxTransfer.Onnx.Proto;
using DataType = OnnxTransfer.Onnx.Proto.TensorProto.Types.DataType;

namespace OnnxTransfer.Training.FineTuning;

/// <summary>One layer with weights: the node and the float initializers it trains.</summary>
/// <param name="Node">The node (Conv, ConvTranspose, Gemm, MatMul or BatchNormalization).</param>
/// <param name="Parameters">Its trainable initializers (BatchNormalization: scale and bias; its running statistics stay frozen).</param>
internal sealed record TrainableLayer(NodeProto Node, IReadOnlyList<string> Parameters);

/// <summary>Finds the layers with weights that feed a tensor, counted back from it ("unfreeze the last N layers").</summary>
internal static class TrainableLayers
{
    private static readonly HashSet<string> Parameterised = new(StringComparer.Ordinal) { "Conv", "ConvTranspose", "Gemm", "MatMul", "BatchNormalization" };

    /// <summary>
    /// The last <paramref name="count"/> parameterised layers that <paramref name="tensor"/> depends on, nearest first
    /// (graph order reversed). A BatchNormalization counts as its own layer.
    /// </summary>
    /// <exception cref="OnnxTransferException">The tensor is unknown, or fewer layers than asked feed it.</exception>
    public static IReadOnlyList<TrainableLayer> Last(OnnxModel model, string tensor, int count)
    {
        var graph = model.Graph;
        if (!GraphEditor.Contains(graph, tensor))
            throw new OnnxTransferException($"{model.DisplayName}: no tensor named '{tensor}'; check the name with `onnxtransfer inspect`.");
        if (count < 1) throw new OnnxTransferException($"{model.DisplayName}: unfreeze at least 1 layer (got {count}).");
        var floats = graph.Initializer.Where(t => (DataType)t.DataType is DataType.Float or DataType.Double)
            .Select(t => t.Name).ToHashSet(StringComparer.Ordinal);
        var needed = new HashSet<string>(StringComparer.Ordinal) { tensor };
        var layers = new List<TrainableLayer>();
        for (var k = graph.Node.Count - 1; k >= 0 && layers.Count < count; k--)
        {
            var node = graph.Node[k];
            if (!node.Output.Any(needed.Contains)) continue;
            foreach (var i in node.Input) needed.Add(i);
            if (!Parameterised.Contains(node.OpType)) continue;
            var inputs = node.OpType == "BatchNormalization" ? node.Input.Skip(1).Take(2) : node.Input.Skip(node.OpType is "MatMul" ? 0 : 1);
            var parameters = inputs.Where(floats.Contains).Distinct().ToList();
            if (parameters.Count > 0) layers.Add(new TrainableLayer(node, parameters));
        }
        if (layers.Count < count)
            throw new OnnxTransferException($"{model.DisplayName}: only {layers.Count} layer(s) with weights feed '{tensor}', fewer than the {count} asked to unfreeze.");
        return layers;
    }

    /// <summary>
    /// Layer counts for <see cref="Last"/> that unfreeze whole residual blocks, nearest <paramref name="tensor"/> first: for
    /// each residual join feeding it (an Add or Sum of two computed tensors), the number of layers with weights after the
    /// join. MobileNetV2 (BatchNormalization folded): 4 (the last inverted-residual block, which has no skip, and the final
    /// 1×1 conv), 7, 10, …; ResNet-18 (separate BatchNormalization layers): 4, 8, 14, …; ResNet-50: 6, 12, … Empty without residual joins.
    /// </summary>
    /// <exception cref="OnnxTransferException">The tensor is unknown.</exception>
    public static IReadOnlyList<int> BlockBoundaries(OnnxModel model, string tensor)
    {
        var counts = new List<int>();
        foreach (var layers in LayersAfterJoins(model, tensor))
            if (layers > 0 && (counts.Count == 0 || counts[^1] != layers)) counts.Add(layers);
        return counts;
    }

    /// <summary>
    /// Whether "unfreeze N" counts whole residual blocks on this backbone rather than layers: it has residual joins and no
    /// layer with weights after the last one (ResNet: every layer sits inside a block, so a layer count that is not a block
    /// boundary would cut through a skip connection). MobileNetV2 (its last block has no skip, then a 1×1 conv) counts layers.
    /// </summary>
    /// <exception cref="OnnxTransferException">The tensor is unknown.</exception>
    public static bool CountsBlocks(OnnxModel model, string tensor) => LayersAfterJoins(model, tensor) is [0, ..];

    /// <summary>The layers with weights in the last <paramref name="blocks"/> residual blocks before <paramref name="tensor"/>.</summary>
    /// <exception cref="OnnxTransferException">The tensor is unknown, or the backbone has fewer whole blocks than asked.</exception>
    public static int LayersOfBlocks(OnnxModel model, string tensor, int blocks)
    {
        if (blocks < 1) throw new OnnxTransferException($"{model.DisplayName}: unfreeze at least 1 block (got {blocks}).");
        var boundaries = BlockBoundaries(model, tensor);
        return blocks <= boundaries.Count ? boundaries[blocks - 1]
            : throw new OnnxTransferException($"{model.DisplayName}: {boundaries.Count} residual block(s) can be unfrozen whole, fewer than the {blocks} asked; unfreeze at most {boundaries.Count}.");
    }

    /// <summary>For each residual join feeding <paramref name="tensor"/>, nearest first, the number of layers with weights after it (0 and repeats kept).</summary>
    private static List<int> LayersAfterJoins(OnnxModel model, string tensor)
    {
        var graph = model.Graph;
        if (!GraphEditor.Contains(graph, tensor))
            throw new OnnxTransferException($"{model.DisplayName}: no tensor named '{tensor}'; check the name with `onnxtransfer inspect`.");
        var floats = graph.Initializer.Where(t => (DataType)t.DataType is DataType.Float or DataType.Double)
            .Select(t => t.Name).ToHashSet(StringComparer.Ordinal);
        var computed = graph.Node.Where(n => n.OpType != "Constant").SelectMany(n => n.Output).ToHashSet(StringComparer.Ordinal);
        var needed = new HashSet<string>(StringComparer.Ordinal) { tensor };
        var counts = new List<int>();
        var layers = 0;
        for (var k = graph.Node.Count - 1; k >= 0; k--)
        {
            var node = graph.Node[k];
            if (!node.Output.Any(needed.Contains)) continue;
            foreach (var i in node.Input) needed.Add(i);
            // Nodes are in topological order, so every layer after this join that feeds the tensor has been counted.
            if (node.OpType is "Add" or "Sum" && node.Input.Count(computed.Contains) >= 2) counts.Add(layers);
            if (!Parameterised.Contains(node.OpType)) continue;
            var inputs = node.OpType == "BatchNormalization" ? node.Input.Skip(1).Take(2) : node.Input.Skip(node.OpType is "MatMul" ? 0 : 1);
            if (inputs.Any(floats.Contains)) layers++;
        }
        return counts;
    }
}
