using OnnxTransfer.Onnx;
using DataType = OnnxTransfer.Onnx.Proto.TensorProto.Types.DataType;

namespace OnnxTransfer.Onnx.Autodiff;

/// <summary>
/// Emits ai.onnx (opset 17) arithmetic through a <see cref="GraphBuilder"/> for one element type
/// (float32 or float64), so the same head graph can be built in float64 for gradient checks.
/// </summary>
internal sealed class OpEmitter
{
    private readonly Dictionary<double, string> _constants = new();

    public OpEmitter(GraphBuilder graph, DataType elementType)
    {
        if (elementType is not (DataType.Float or DataType.Double))
            throw new ArgumentException($"element type {elementType} is not float or double.", nameof(elementType));
        Graph = graph;
        ElementType = elementType;
    }

    public GraphBuilder Graph { get; }

    public DataType ElementType { get; }

    /// <summary>A scalar constant of the element type (shared when the same value is asked twice).</summary>
    public string Const(double value)
    {
        if (_constants.TryGetValue(value, out var name)) return name;
        name = ElementType == DataType.Double
            ? Graph.Initializer(OnnxTensor.FromDoubles("c", [value]))
            : Graph.Initializer(OnnxTensor.FromFloats("c", [(float)value]));
        _constants[value] = name;
        return name;
    }

    public string Add(string a, string b) => Graph.Node("Add", [a, b]);
    public string Sub(string a, string b) => Graph.Node("Sub", [a, b]);
    public string Mul(string a, string b) => Graph.Node("Mul", [a, b]);
    public string Div(string a, string b) => Graph.Node("Div", [a, b]);
    public string Neg(string a) => Graph.Node("Neg", [a]);
    public string Abs(string a) => Graph.Node("Abs", [a]);
    public string Exp(string a) => Graph.Node("Exp", [a]);
    public string Log(string a) => Graph.Node("Log", [a]);
    public string Sqrt(string a) => Graph.Node("Sqrt", [a]);
    public string Relu(string a) => Graph.Node("Relu", [a]);
    public string Sigmoid(string a) => Graph.Node("Sigmoid", [a]);
    public string Pow(string a, string b) => Graph.Node("Pow", [a, b]);
    public string Min(string a, string b) => Graph.Node("Min", [a, b]);
    public string MatMul(string a, string b) => Graph.Node("MatMul", [a, b]);
    public string Transpose(string a) => Graph.Node("Transpose", [a], OnnxAttribute.Ints("perm", 1, 0));
    public string LogSoftmax(string a) => Graph.Node("LogSoftmax", [a], OnnxAttribute.Int("axis", -1));
    public string Softmax(string a) => Graph.Node("Softmax", [a], OnnxAttribute.Int("axis", -1));

    /// <summary>Sum over <paramref name="axes"/> (ReduceSum takes axes as an input since opset 13).</summary>
    public string ReduceSum(string a, bool keepDims, params long[] axes) =>
        Graph.Node("ReduceSum", [a, Graph.Int64s("axes", axes)], OnnxAttribute.Int("keepdims", keepDims ? 1 : 0));

    /// <summary>Sum of every element, as a scalar.</summary>
    public string SumAll(string a) => Graph.Node("ReduceSum", [a], OnnxAttribute.Int("keepdims", 0));

    /// <summary>Mean over the last axis of a [B,N] tensor with the axis kept ([B,1]).</summary>
    public string MeanLastAxis(string a, int n) => Mul(ReduceSum(a, true, -1), Const(1.0 / n));

    /// <summary>1 where <paramref name="a"/> &gt; 0, else 0, in the element type.</summary>
    public string PositiveMask(string a) => Cast(Graph.Node("Greater", [a, Const(0)]));

    /// <summary>Casts to the element type.</summary>
    public string Cast(string a) => Graph.Node("Cast", [a], OnnxAttribute.Int("to", (long)ElementType));

    /// <summary>One-hot [B,C] of int64 labels [B], in the element type (Equal against 0..C-1, no OneHot kernel needed).</summary>
    public string OneHot(string labels, int classes)
    {
        var column = Graph.Node("Unsqueeze", [labels, Graph.Int64s("axes", 1)]);
        var range = Graph.Int64s("class_ids", Enumerable.Range(0, classes).Select(i => (long)i).ToArray());
        return Cast(Graph.Node("Equal", [column, range]));
    }

    /// <summary>A [B] vector as a [B,1] column.</summary>
    public string Column(string v) => Graph.Node("Unsqueeze", [v, Graph.Int64s("axes", 1)]);
}
