using OnnxTransfer.Onnx.Proto;
using DataType = OnnxTransfer.Onnx.Proto.TensorProto.Types.DataType;

namespace OnnxTransfer.Onnx;

/// <summary>The float model made from a quantized one, and where each quantized tensor's float value now lives.</summary>
/// <param name="Model">The float model (ai.onnx opset 17, no com.microsoft ops).</param>
/// <param name="FloatTensors">Quantized tensor name → name of the float tensor that replaces it.</param>
/// <param name="ConvertedNodes">How many quantized nodes (QLinear*, QuantizeLinear, DequantizeLinear) were rewritten.</param>
internal sealed record DequantizedModel(OnnxModel Model, IReadOnlyDictionary<string, string> FloatTensors, int ConvertedNodes);

/// <summary>
/// Turns a quantized model (QLinear* ops or QDQ pairs) into a float model, so it can be fine-tuned or
/// differentiated: weights are dequantized once into float initializers (per-tensor or per-channel
/// scales; an int32 conv bias becomes <c>bias · x_scale · w_scale</c>), QLinearConv/MatMul/Add/Mul/
/// GlobalAveragePool/AveragePool/Sigmoid/LeakyRelu/Concat become their float ops, QuantizeLinear and
/// DequantizeLinear of activations disappear. Activations stay float: there is no rounding in between, so
/// outputs differ slightly from the int8 model. By default each former 8-bit output is clamped to the range
/// its uint8/int8 type could represent, <c>[(qmin − zp)·s, (qmax − zp)·s]</c>: quantizers fuse ReLU and
/// ReLU6 into QLinearConv through exactly that saturation (the zoo MobileNetV2 has no Relu/Clip node left),
/// so without the clamp the float model would lose its activations.
/// </summary>
internal static class Dequantizer
{
    /// <summary>Dequantizes a copy of <paramref name="model"/>.</summary>
    /// <param name="model">A quantized model (unchanged).</param>
    /// <param name="clampToQuantizedRange">Clamp each former 8-bit activation to its representable range (restores fused ReLU/ReLU6).</param>
    /// <exception cref="OnnxFormatException">An op cannot be dequantized (named with its node), or a weight's parameters are not constants.</exception>
    public static DequantizedModel Dequantize(OnnxModel model, bool clampToQuantizedRange = true)
    {
        var copy = model.Clone();
        OpsetUpgrader.Upgrade(copy);
        var graph = copy.Graph;
        var context = new Rewrite(graph, model.DisplayName, clampToQuantizedRange);
        var nodes = graph.Node.ToList();
        graph.Node.Clear();
        foreach (var node in nodes) context.Convert(node);
        context.FinishOutputs();

        graph.ValueInfo.Clear();
        graph.QuantizationAnnotation.Clear();
        GraphEditor.Prune(graph, keepInputs: true);
        var used = new HashSet<string>(graph.Node.Select(n => n.Domain is "ai.onnx" ? "" : n.Domain), StringComparer.Ordinal);
        for (var i = copy.Proto.OpsetImport.Count - 1; i >= 0; i--)
        {
            var domain = copy.Proto.OpsetImport[i].Domain;
            if (domain is not ("" or "ai.onnx") && !used.Contains(domain)) copy.Proto.OpsetImport.RemoveAt(i);
        }
        copy.SetMetadata("onnxtransfer.dequantized.source", model.DisplayName);
        return new DequantizedModel(copy, context.FloatOf, context.Converted);
    }

    /// <summary>True when the model holds any op this class would rewrite.</summary>
    public static bool IsQuantized(OnnxModel model) => model.Graph.Node.Any(n => IsQuantizedOp(n.OpType));

    private static bool IsQuantizedOp(string op) =>
        op.StartsWith("QLinear", StringComparison.Ordinal) || op is "QuantizeLinear" or "DequantizeLinear"
            or "ConvInteger" or "MatMulInteger" or "DynamicQuantizeLinear" or "QGemm" or "QAttention" or "DynamicQuantizeMatMul";

    private sealed class Rewrite(GraphProto graph, string modelName, bool clamp)
    {
        private readonly GraphBuilder _g = new(graph);
        private readonly Dictionary<string, TensorProto> _constants = graph.Initializer.ToDictionary(t => t.Name, StringComparer.Ordinal);

        public Dictionary<string, string> FloatOf { get; } = new(StringComparer.Ordinal);

        public int Converted { get; private set; }

        private string Float(string name) => FloatOf.TryGetValue(name, out var f) ? f : name;

        public void Convert(NodeProto node)
        {
            if (!IsQuantizedOp(node.OpType))
            {
                PassThrough(node);
                return;
            }
            Converted++;
            var attrs = node.Attribute.Where(a => a.Name != "channels_last").Select(a => a.Clone()).ToArray();
            switch (node.OpType)
            {
                case "QuantizeLinear":
                    Produce(node, 0, Float(node.Input[0]), Input(node, 1), Input(node, 2));
                    break;
                case "DequantizeLinear":
                    FloatOf[node.Output[0]] = _constants.ContainsKey(node.Input[0])
                        ? _g.Initializer(DequantizeConstant(node, 0, 1, 2, (int)OnnxAttribute.GetInt(node, "axis", 1)))
                        : Float(node.Input[0]);
                    break;
                case "QLinearConv":
                    {
                        var w = DequantizeConstant(node, 3, 4, 5, axis: 0);
                        var inputs = new List<string> { Float(node.Input[0]), _g.Initializer(w) };
                        if (Input(node, 8).Length > 0) inputs.Add(_g.Initializer(ConvBias(node, w.Dims[0])));
                        Produce(node, 0, _g.Node("Conv", inputs, attrs), Input(node, 6), Input(node, 7));
                        break;
                    }
                case "QLinearMatMul":
                    Produce(node, 0, _g.Node("MatMul", [Operand(node, 0, 1, 2, matMulSide: 0), Operand(node, 3, 4, 5, matMulSide: 1)]), Input(node, 6), Input(node, 7));
                    break;
                case "QLinearAdd" or "QLinearMul":
                    Produce(node, 0, _g.Node(node.OpType == "QLinearAdd" ? "Add" : "Mul", [Operand(node, 0, 1, 2), Operand(node, 3, 4, 5)]), Input(node, 6), Input(node, 7));
                    break;
                case "QLinearGlobalAveragePool":
                    if (OnnxAttribute.GetInt(node, "channels_last", 0) != 0) throw Unsupported(node, "channels_last=1");
                    Produce(node, 0, _g.Node("GlobalAveragePool", [Float(node.Input[0])]), Input(node, 3), Input(node, 4));
                    break;
                case "QLinearAveragePool":
                    if (OnnxAttribute.GetInt(node, "channels_last", 0) != 0) throw Unsupported(node, "channels_last=1");
                    Produce(node, 0, _g.Node("AveragePool", [Float(node.Input[0])], attrs), Input(node, 3), Input(node, 4));
                    break;
                case "QLinearSigmoid":
                    Produce(node, 0, _g.Node("Sigmoid", [Float(node.Input[0])]), Input(node, 3), Input(node, 4));
                    break;
                case "QLinearLeakyRelu":
                    Produce(node, 0, _g.Node("LeakyRelu", [Float(node.Input[0])], attrs), Input(node, 3), Input(node, 4));
                    break;
                case "QLinearConcat":
                    {
                        var parts = new List<string>();
                        for (var i = 2; i + 2 < node.Input.Count; i += 3) parts.Add(Operand(node, i, i + 1, i + 2));
                        Produce(node, 0, _g.Node("Concat", parts, attrs), Input(node, 0), Input(node, 1));
                        break;
                    }
                default:
                    throw Unsupported(node, "no float rewrite for this quantized op");
            }
        }

        /// <summary>Graph outputs keep their names (an Identity from the float tensor) and become float.</summary>
        public void FinishOutputs()
        {
            foreach (var output in graph.Output)
            {
                if (!FloatOf.TryGetValue(output.Name, out var f) || f == output.Name) continue;
                _g.NodeWithOutputs("Identity", [f], [output.Name]);
                if (output.Type?.TensorType is { } t && (DataType)t.ElemType is DataType.Uint8 or DataType.Int8) t.ElemType = (int)DataType.Float;
            }
        }

        private void PassThrough(NodeProto node)
        {
            var mapped = false;
            for (var i = 0; i < node.Input.Count; i++)
            {
                var f = Float(node.Input[i]);
                if (f != node.Input[i]) { node.Input[i] = f; mapped = true; }
            }
            // A reshape of a formerly 8-bit tensor now carries floats; drop the misleading suffix from its name.
            if (mapped)
                for (var o = 0; o < node.Output.Count; o++)
                    if (node.Output[o].EndsWith("_quantized", StringComparison.Ordinal) && !graph.Output.Any(x => x.Name == node.Output[o]))
                    {
                        var renamed = _g.UniqueName(Strip(node.Output[o]));
                        FloatOf[node.Output[o]] = renamed;
                        node.Output[o] = renamed;
                    }
            graph.Node.Add(node);
        }

        /// <summary>Records the float value of a former 8-bit output, clamped to its representable range when asked.</summary>
        private void Produce(NodeProto node, int output, string value, string scale, string zeroPoint)
        {
            var name = node.Output[output];
            if (clamp)
            {
                var (lo, hi) = Range(node, scale, zeroPoint);
                var clipped = _g.UniqueName(Strip(name));
                _g.NodeWithOutputs("Clip", [value, _g.Scalar(lo, "clip_min"), _g.Scalar(hi, "clip_max")], [clipped]);
                value = clipped;
            }
            FloatOf[name] = value;
        }

        private (float Lo, float Hi) Range(NodeProto node, string scale, string zeroPoint)
        {
            var s = Constant(node, scale);
            if (s.Length != 1) throw Unsupported(node, $"output scale '{scale}' is not per-tensor");
            var (qmin, qmax, zp) = (0f, 255f, 0f);
            if (zeroPoint.Length > 0)
            {
                var z = _constants.TryGetValue(zeroPoint, out var zt) ? zt : throw NotConstant(node, zeroPoint);
                if ((DataType)z.DataType == DataType.Int8) (qmin, qmax) = (-128f, 127f);
                zp = OnnxTensor.ToFloats(z)[0];
            }
            return ((qmin - zp) * s[0], (qmax - zp) * s[0]);
        }

        /// <summary>A QLinear operand as float: a dequantized constant, or the activation's float tensor.</summary>
        private string Operand(NodeProto node, int data, int scale, int zeroPoint, int matMulSide = -1)
        {
            var name = node.Input[data];
            if (!_constants.TryGetValue(name, out var q)) return Float(name);
            var scales = Constant(node, node.Input[scale]);
            // MatMul weights carry one scale per output column (B) or per row (A).
            var axis = scales.Length == 1 ? 0 : matMulSide switch
            {
                1 => q.Dims.Count - 1,
                0 => q.Dims.Count - 2,
                _ => throw Unsupported(node, $"per-channel scale '{node.Input[scale]}' on an elementwise operand"),
            };
            return _g.Initializer(DequantizeConstant(node, data, scale, zeroPoint, axis));
        }

        private TensorProto DequantizeConstant(NodeProto node, int data, int scale, int zeroPoint, int axis)
        {
            var name = node.Input[data];
            var q = _constants.TryGetValue(name, out var t) ? t : throw NotConstant(node, name);
            var values = OnnxTensor.ToFloats(q);
            var scales = Constant(node, node.Input[scale]);
            var zeros = Input(node, zeroPoint) is { Length: > 0 } zpName ? Constant(node, zpName) : new float[scales.Length];
            if (zeros.Length != scales.Length) throw Unsupported(node, $"zero point '{Input(node, zeroPoint)}' and scale '{node.Input[scale]}' differ in length");
            var dims = q.Dims.ToArray();
            if (axis < 0) axis += dims.Length;
            var (channels, inner) = scales.Length == 1 ? (1L, (long)values.Length)
                : axis >= 0 && axis < dims.Length && dims[axis] == scales.Length ? (dims[axis], OnnxTensor.ElementCount(dims.Skip(axis + 1)))
                : throw Unsupported(node, $"{scales.Length} scales do not match axis {axis} of '{name}' [{string.Join(",", dims)}]");
            var result = new float[values.Length];
            for (var i = 0; i < values.Length; i++)
            {
                var c = (int)(i / inner % channels);
                result[i] = (values[i] - zeros[c]) * scales[c];
            }
            return OnnxTensor.FromFloats(Strip(name), result, dims);
        }

        /// <summary>QLinearConv's int32 bias has zero point 0 and scale x_scale·w_scale[c].</summary>
        private TensorProto ConvBias(NodeProto node, long outChannels)
        {
            var bias = Constant(node, node.Input[8]);
            var xs = Constant(node, node.Input[1]);
            var ws = Constant(node, node.Input[4]);
            if (xs.Length != 1 || bias.Length != outChannels || (ws.Length != 1 && ws.Length != outChannels))
                throw Unsupported(node, $"bias '{node.Input[8]}' or scales do not match {outChannels} output channels");
            var result = new float[bias.Length];
            for (var c = 0; c < bias.Length; c++) result[c] = bias[c] * xs[0] * ws[ws.Length == 1 ? 0 : c];
            return OnnxTensor.FromFloats(Strip(node.Input[8]), result, bias.Length);
        }

        private float[] Constant(NodeProto node, string name) =>
            _constants.TryGetValue(name, out var t) ? OnnxTensor.ToFloats(t) : throw NotConstant(node, name);

        private static string Input(NodeProto node, int index) => index < node.Input.Count ? node.Input[index] : "";

        private OnnxFormatException NotConstant(NodeProto node, string tensor) =>
            new($"{modelName}: node '{node.Name}' ({node.OpType}) reads quantization data '{tensor}' that is computed, not a constant; only statically quantized models can be dequantized.");

        private OnnxFormatException Unsupported(NodeProto node, string why) =>
            new($"{modelName}: cannot dequantize node '{node.Name}' ({node.OpType}): {why}; export a float model instead.");
    }

    private static string Strip(string name) =>
        name.EndsWith("_quantized", StringComparison.Ordinal) && name.Length > "_quantized".Length ? name[..^"_quantized".Length] : name;
}
