using OnnxTransfer.Onnx;
using OnnxTransfer.Onnx.Proto;
using DataType = OnnxTransfer.Onnx.Proto.TensorProto.Types.DataType;

namespace OnnxTransfer.Onnx.Autodiff;

/// <summary>
/// What a gradient rule sees while the backward pass visits one node: the node, the gradient of its
/// outputs, which inputs need a gradient, known shapes, and where to record input gradients (summed with
/// contributions from other readers of the same tensor).
/// </summary>
internal sealed class GradientContext(GraphBuilder graph, OpEmitter emitter, IReadOnlyDictionary<string, TensorInfo> shapes,
    string modelName, IReadOnlyDictionary<string, TensorProto> initializers)
{
    private readonly Dictionary<string, List<string>> _contributions = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> _summed = new(StringComparer.Ordinal);
    private Func<int, bool> _needs = _ => false;

    public GraphBuilder G { get; } = graph;
    public OpEmitter E { get; } = emitter;
    public NodeProto Node { get; private set; } = new();
    public DataType ElementType => E.ElementType;

    public void Seed(string tensor, string gradient) => _contributions[tensor] = [gradient];

    public void Begin(NodeProto node, Func<int, bool> needs)
    {
        Node = node;
        _needs = needs;
    }

    /// <summary>True when input <paramref name="index"/> lies on a path from a parameter to the loss.</summary>
    public bool Needs(int index) => index < Node.Input.Count && Node.Input[index].Length > 0 && _needs(index);

    public string Input(int index) => index < Node.Input.Count ? Node.Input[index] : "";
    public string Output(int index) => Node.Output[index];

    /// <summary>dL/d(output <paramref name="index"/>), or null when no gradient reaches that output.</summary>
    public string? OutputGradient(int index = 0) => index < Node.Output.Count ? GradientOf(Node.Output[index]) : null;

    /// <summary>The summed gradient of a tensor (null when nothing flowed into it).</summary>
    public string? GradientOf(string tensor)
    {
        if (_summed.TryGetValue(tensor, out var s)) return s;
        if (!_contributions.TryGetValue(tensor, out var parts) || parts.Count == 0) return null;
        s = parts.Count == 1 ? parts[0] : G.Node("Sum", parts);
        _summed[tensor] = s;
        return s;
    }

    /// <summary>Records a contribution to input <paramref name="index"/>'s gradient (ignored when it needs none).</summary>
    public void Add(int index, string gradient)
    {
        if (!Needs(index)) return;
        var tensor = Node.Input[index];
        if (_summed.ContainsKey(tensor))
            throw new InvalidOperationException($"gradient of '{tensor}' was read before all its consumers were visited.");
        if (!_contributions.TryGetValue(tensor, out var list)) _contributions[tensor] = list = [];
        list.Add(gradient);
    }

    /// <summary>Refuses a gradient with respect to inputs that must stay frozen (statistics, bounds, ...).</summary>
    public void RequireFrozen(int index, string what)
    {
        if (Needs(index)) throw Unsupported($"{what} ('{Input(index)}') depends on a parameter; only constants are supported there");
    }

    public TensorInfo Info(string tensor) =>
        shapes.TryGetValue(tensor, out var i) && i.Shape is not null ? i
            : throw Unsupported($"the shape of '{tensor}' is unknown");

    public IReadOnlyList<TensorDim> Shape(string tensor) => Info(tensor).Shape!;

    public int Rank(string tensor) => Shape(tensor).Count;

    /// <summary>A dimension that must be a fixed size (spatial sizes, channels).</summary>
    public long Fixed(string tensor, int axis) =>
        Shape(tensor)[axis].Value ?? throw Unsupported($"dimension {axis} of '{tensor}' is not fixed");

    public TensorProto? Constant(string tensor) => initializers.TryGetValue(tensor, out var t) ? t : null;

    public OnnxTransferException Unsupported(string why) =>
        new($"{modelName}: cannot differentiate node '{Node.Name}' ({Node.OpType}): {why}.");

    // ---- small emitters ----

    public string ShapeOf(string x) => G.Node("Shape", [x]);

    public string Reshape(string x, string shape) => G.Node("Reshape", [x, shape]);

    public string ReshapeTo(string x, params long[] dims) => G.Node("Reshape", [x, G.Int64s("shape", dims)]);

    public string ReshapeLike(string x, string like) => Reshape(x, ShapeOf(like));

    public string Transpose(string x, params long[] perm) => G.Node("Transpose", [x], OnnxAttribute.Ints("perm", perm));

    public string Unsqueeze(string x, params long[] axes) => G.Node("Unsqueeze", [x, G.Int64s("axes", axes)]);

    public string ReduceSum(string x, bool keepDims, params long[] axes) => E.ReduceSum(x, keepDims, axes);

    public string Mask(string condition) => E.Cast(condition);

    /// <summary>A tensor constant of the element type.</summary>
    public string Constant(string hint, double[] values, params long[] dims) => ElementType == DataType.Double
        ? G.Initializer(OnnxTensor.FromDoubles(hint, values, dims))
        : G.Initializer(OnnxTensor.FromFloats(hint, values.Select(v => (float)v).ToArray(), dims));

    private AttributeProto Fill(double value) => OnnxAttribute.Tensor("value", ElementType == DataType.Double
        ? OnnxTensor.FromDoubles("value", [value], 1)
        : OnnxTensor.FromFloats("value", [(float)value], 1));

    public string ZerosLike(string x) => G.Node("ConstantOfShape", [ShapeOf(x)], Fill(0));

    public string OnesLike(string x) => G.Node("ConstantOfShape", [ShapeOf(x)], Fill(1));

    /// <summary>Zeros of the shape held by the int64 tensor <paramref name="shape"/>.</summary>
    public string Zeros(string shape) => G.Node("ConstantOfShape", [shape], Fill(0));

    /// <summary>
    /// Sums a broadcast gradient back to the shape of <paramref name="target"/>: leading axes the target lacks
    /// and axes where the target has size 1 but the gradient does not are summed, then reshaped to the target.
    /// </summary>
    public string ReduceTo(string gradient, IReadOnlyList<TensorDim> gradientShape, string target)
    {
        var targetShape = Shape(target);
        var lead = gradientShape.Count - targetShape.Count;
        if (lead < 0) throw Unsupported($"gradient rank {gradientShape.Count} is below the rank of '{target}'");
        var axes = new List<long>();
        for (var i = 0; i < gradientShape.Count; i++)
        {
            if (i < lead) { axes.Add(i); continue; }
            var t = targetShape[i - lead];
            var d = gradientShape[i];
            if (t.Value == 1 && d.Value != 1) axes.Add(i);
            else if (t.Value is { } tv && d.Value is { } dv && tv != dv)
                throw Unsupported($"cannot broadcast '{target}' {Info(target).ShapeText} to the gradient's shape");
        }
        if (axes.Count == 0) return gradient;
        var summed = ReduceSum(gradient, keepDims: true, axes.ToArray());
        return ReshapeLike(summed, target);
    }

    /// <summary>The shape two tensors broadcast to (numpy rules; symbolic dims kept).</summary>
    public static IReadOnlyList<TensorDim> Broadcast(IReadOnlyList<TensorDim> a, IReadOnlyList<TensorDim> b)
    {
        var rank = Math.Max(a.Count, b.Count);
        var result = new TensorDim[rank];
        for (var i = 0; i < rank; i++)
        {
            var x = i - (rank - a.Count) >= 0 ? a[i - (rank - a.Count)] : TensorDim.Fixed(1);
            var y = i - (rank - b.Count) >= 0 ? b[i - (rank - b.Count)] : TensorDim.Fixed(1);
            result[i] = x.Value == 1 ? y : x;
        }
        return result;
    }
}
