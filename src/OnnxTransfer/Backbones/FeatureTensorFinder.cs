using OnnxTransfer.Onnx;
using OnnxTransfer.Onnx.Proto;
using DataType = OnnxTransfer.Onnx.Proto.TensorProto.Types.DataType;

namespace OnnxTransfer.Backbones;

/// <summary>
/// Finds where to cut a classifier: walks back from each output through the head's element-wise and
/// reshaping ops (Softmax, bias Add, Flatten, Dequantize...) to the final classifier (Gemm, MatMul,
/// QLinearMatMul, MatMulInteger or a 1x1 Conv on pooled features), and lists its input first, then the
/// pooled/flattened tensors before it, and the spatial feature map before the global pool.
/// </summary>
internal static class FeatureTensorFinder
{
    private static readonly HashSet<string> GlobalPools = new(StringComparer.Ordinal)
        { "GlobalAveragePool", "QLinearGlobalAveragePool", "GlobalMaxPool", "ReduceMean", "ReduceMax" };

    // Between the features and the classifier: ops that only reshape or re-encode the pooled vector.
    private static readonly HashSet<string> Reshaping = new(StringComparer.Ordinal)
        { "Flatten", "Reshape", "Squeeze", "Unsqueeze", "Dropout", "Identity", "Cast", "DequantizeLinear", "QuantizeLinear" };

    // Between the classifier and the output: ops a head applies to logits.
    private static readonly HashSet<string> HeadTail = new(StringComparer.Ordinal)
    {
        "Softmax", "LogSoftmax", "Sigmoid", "Relu", "Identity", "Flatten", "Reshape", "Squeeze", "Unsqueeze", "Dropout",
        "Cast", "DequantizeLinear", "QuantizeLinear", "QLinearSoftmax", "QLinearSigmoid", "ArgMax", "Transpose",
        "Add", "Sub", "Mul", "Div", "QLinearAdd", "QLinearMul",
    };

    /// <summary>
    /// Candidate feature tensors, best first (the first is what <c>--at auto</c> cuts at). Shapes come from
    /// <see cref="TensorShapeProbe"/>. When no classifier head is recognised, the graph outputs are returned
    /// (the model may already be a feature extractor).
    /// </summary>
    public static IReadOnlyList<FeatureCandidate> Find(OnnxModel model)
    {
        var graph = model.Graph;
        var walk = new GraphWalk(graph);
        var found = new List<(string Tensor, FeaturePool Pool, string Reason)>();
        void Add(string tensor, FeaturePool pool, string reason)
        {
            if (tensor.Length > 0 && found.All(f => f.Tensor != tensor) && !walk.IsConstant(tensor)) found.Add((tensor, pool, reason));
        }

        foreach (var output in graph.Output)
        {
            var t = output.Name;
            var pooledAfter = false;
            for (var step = 0; step < 64 && walk.Producers.TryGetValue(t, out var node); step++)
            {
                if (walk.ClassifierInput(node, pooledAfter) is { } x)
                {
                    Add(x, pooledAfter ? FeaturePool.Avg : FeaturePool.None,
                        $"input of the final classifier ({node.OpType} '{node.Name}' -> '{output.Name}')" + (pooledAfter ? ", pooled after it" : ""));
                    if (!pooledAfter) FeatureChain(walk, x, Add);
                    break;
                }
                if (GlobalPools.Contains(node.OpType)) pooledAfter = true;
                else if (!HeadTail.Contains(node.OpType)) break;
                if (walk.DataInput(node) is not { } next) break;
                t = next;
            }
        }
        if (found.Count == 0)
            foreach (var output in graph.Output)
                Add(output.Name, FeaturePool.None, "model output (no classifier head recognised; the model may already be a feature extractor)");

        IReadOnlyDictionary<string, TensorInfo> infos;
        try { infos = TensorShapeProbe.Infer(model, found.Select(f => f.Tensor)); }
        catch (OnnxFormatException)
        {
            // Listing candidates without shapes is still useful; the cut itself measures again and reports the failure.
            infos = found.ToDictionary(f => f.Tensor, f => GraphEditor.DeclaredInfo(graph, f.Tensor) ?? new TensorInfo(f.Tensor, DataType.Undefined, null));
        }

        var candidates = new List<FeatureCandidate>();
        foreach (var (tensor, pool, reason) in found)
        {
            var info = infos[tensor];
            if (info.ElementType is not (DataType.Undefined or DataType.Float or DataType.Float16 or DataType.Double or DataType.Bfloat16 or DataType.Uint8 or DataType.Int8))
                continue;
            if (info.Rank is 0 or 1) continue;
            var quant = info.IsEightBit ? QuantizationParameters.Find(graph, tensor) : null;
            candidates.Add(new FeatureCandidate(tensor, info, pool, Dimension(info, pool), quant, reason));
        }
        return candidates;
    }

    /// <summary>D for a cut at a tensor of this shape with this pooling: C when pooled, else all non-batch elements.</summary>
    public static long? Dimension(TensorInfo info, FeaturePool pool) =>
        pool == FeaturePool.Avg ? (info.Rank >= 3 ? info.Shape![1].Value : null) : info.ElementsPerItem;

    private static void FeatureChain(GraphWalk walk, string start, Action<string, FeaturePool, string> add)
    {
        var t = start;
        for (var step = 0; step < 64 && walk.Producers.TryGetValue(t, out var node); step++)
        {
            if (node.Input.Count == 0) return;
            var input = node.Input[0];
            if (GlobalPools.Contains(node.OpType))
            {
                var pool = node.OpType is "GlobalMaxPool" or "ReduceMax" ? "max" : "average";
                add(input, FeaturePool.Avg, $"feature map before the global {pool} pool ({node.OpType}); cut with pool avg");
                return;
            }
            if (!Reshaping.Contains(node.OpType)) return;
            // A QuantizeLinear output read by DequantizeLinear carries the same values; list only the readable ends.
            if (!(walk.Producers.TryGetValue(input, out var p) && p.OpType == "QuantizeLinear"))
                add(input, FeaturePool.None, walk.Producers.TryGetValue(input, out var made) && GlobalPools.Contains(made.OpType)
                    ? $"pooled features ({made.OpType} output) before {node.OpType}"
                    : $"features before {node.OpType} on the way to the classifier");
            t = input;
        }
    }

    /// <summary>Graph lookups the walk needs, computed once.</summary>
    private sealed class GraphWalk
    {
        private readonly Dictionary<string, long[]> _initializerDims = new(StringComparer.Ordinal);
        private readonly Dictionary<string, bool> _constant = new(StringComparer.Ordinal);

        public GraphWalk(GraphProto graph)
        {
            Producers = GraphEditor.Producers(graph);
            foreach (var t in graph.Initializer) _initializerDims[t.Name] = t.Dims.ToArray();
        }

        public Dictionary<string, NodeProto> Producers { get; }

        /// <summary>An initializer, or computed only from constants (Constant nodes, DequantizeLinear of weights...).</summary>
        public bool IsConstant(string tensor, int depth = 0)
        {
            if (tensor.Length == 0 || _initializerDims.ContainsKey(tensor)) return true;
            if (_constant.TryGetValue(tensor, out var known)) return known;
            var result = depth < 32 && Producers.TryGetValue(tensor, out var node) &&
                         node.Input.Where(i => i.Length > 0).All(i => IsConstant(i, depth + 1));
            _constant[tensor] = result;
            return result;
        }

        /// <summary>The one non-constant input among <paramref name="indices"/>, or null.</summary>
        private string? OnlyVariable(NodeProto node, params int[] indices)
        {
            var vars = indices.Where(i => i < node.Input.Count && !IsConstant(node.Input[i])).ToList();
            return vars.Count == 1 ? node.Input[vars[0]] : null;
        }

        /// <summary>The input that carries the data through a head op (the non-constant operand of bias/scale ops).</summary>
        public string? DataInput(NodeProto node) => node.OpType switch
        {
            "Add" or "Sub" or "Mul" or "Div" => OnlyVariable(node, 0, 1),
            "QLinearAdd" or "QLinearMul" => OnlyVariable(node, 0, 3),
            _ => node.Input.Count > 0 ? node.Input[0] : null,
        };

        /// <summary>The features input when <paramref name="node"/> is a classifier layer with constant weights, else null.</summary>
        public string? ClassifierInput(NodeProto node, bool pooledAfter) => node.OpType switch
        {
            "Gemm" or "MatMul" or "MatMulInteger" or "MatMulIntegerToFloat" => WeightedInput(node, 0, 1),
            "QLinearMatMul" => WeightedInput(node, 0, 3),
            "Conv" when IsPointwise(node, 1) && (pooledAfter || ComesFromGlobalPool(node.Input[0])) => node.Input[0],
            "QLinearConv" when IsPointwise(node, 3) && (pooledAfter || ComesFromGlobalPool(node.Input[0])) => node.Input[0],
            _ => null,
        };

        private string? WeightedInput(NodeProto node, int a, int b)
        {
            if (b >= node.Input.Count) return null;
            var x = OnlyVariable(node, a, b);
            return x is not null && (IsConstant(node.Input[a]) || IsConstant(node.Input[b])) ? x : null;
        }

        private bool IsPointwise(NodeProto node, int weightIndex)
        {
            if (weightIndex >= node.Input.Count || !IsConstant(node.Input[weightIndex])) return false;
            var kernel = OnnxAttribute.GetInts(node, "kernel_shape", []);
            if (kernel.Length > 0) return kernel.All(k => k == 1);
            var dims = WeightDims(node.Input[weightIndex]);
            return dims is { Length: > 2 } && dims.Skip(2).All(k => k == 1);
        }

        private long[]? WeightDims(string tensor)
        {
            for (var step = 0; step < 8; step++)
            {
                if (_initializerDims.TryGetValue(tensor, out var dims)) return dims;
                if (!Producers.TryGetValue(tensor, out var node) || node.Input.Count == 0) return null;
                tensor = node.Input[0];
            }
            return null;
        }

        private bool ComesFromGlobalPool(string tensor)
        {
            for (var step = 0; step < 16 && Producers.TryGetValue(tensor, out var node) && node.Input.Count > 0; step++)
            {
                if (GlobalPools.Contains(node.OpType)) return true;
                if (!Reshaping.Contains(node.OpType)) return false;
                tensor = node.Input[0];
            }
            return false;
        }
    }
}
