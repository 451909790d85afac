using OnnxTransfer.Onnx.Proto;
using DataType = OnnxTransfer.Onnx.Proto.TensorProto.Types.DataType;

namespace OnnxTransfer.Onnx;

/// <summary>
/// The one way this toolkit adds to an ONNX graph: nodes, initializers, inputs and outputs, each with a
/// name that is unique in the graph. Cutting, dequantizing, training graphs, autodiff and merging all
/// emit through it.
/// </summary>
internal sealed class GraphBuilder
{
    private readonly HashSet<string> _names = new(StringComparer.Ordinal);
    private readonly Dictionary<string, int> _counters = new(StringComparer.Ordinal);

    /// <summary>Wraps <paramref name="graph"/>; names already used in it are never handed out again.</summary>
    public GraphBuilder(GraphProto graph, string namePrefix = "")
    {
        Graph = graph;
        NamePrefix = namePrefix;
        foreach (var i in graph.Input) _names.Add(i.Name);
        foreach (var o in graph.Output) _names.Add(o.Name);
        foreach (var t in graph.Initializer) _names.Add(t.Name);
        foreach (var n in graph.Node)
        {
            if (n.Name.Length > 0) _names.Add(n.Name);
            foreach (var o in n.Output) _names.Add(o);
        }
    }

    /// <summary>The graph being built.</summary>
    public GraphProto Graph { get; }

    /// <summary>Prefix added to every generated name (e.g. "head/").</summary>
    public string NamePrefix { get; }

    /// <summary>A fresh tensor or node name derived from <paramref name="hint"/>.</summary>
    public string UniqueName(string hint)
    {
        var baseName = NamePrefix + hint;
        if (_names.Add(baseName)) return baseName;
        _counters.TryGetValue(baseName, out var k);
        string candidate;
        do { candidate = $"{baseName}_{++k}"; } while (_names.Contains(candidate));
        _counters[baseName] = k;
        _names.Add(candidate);
        return candidate;
    }

    /// <summary>Claims an exact name (for graph inputs/outputs with fixed names); throws if taken.</summary>
    public string ReserveName(string name)
    {
        if (!_names.Add(name))
            throw new InvalidOperationException($"the name '{name}' is already used in graph '{Graph.Name}'.");
        return name;
    }

    /// <summary>True when <paramref name="name"/> is used in the graph.</summary>
    public bool IsNameTaken(string name) => _names.Contains(name);

    /// <summary>Adds a single-output ai.onnx node and returns its output name.</summary>
    public string Node(string opType, IReadOnlyList<string> inputs, params AttributeProto[] attributes) =>
        Node(opType, inputs, 1, "", attributes)[0];

    /// <summary>Adds a node with <paramref name="outputCount"/> outputs (in <paramref name="domain"/>) and returns the output names.</summary>
    public string[] Node(string opType, IReadOnlyList<string> inputs, int outputCount, string domain, params AttributeProto[] attributes)
    {
        var outputs = new string[outputCount];
        for (var i = 0; i < outputCount; i++) outputs[i] = UniqueName(opType.ToLowerInvariant());
        NodeWithOutputs(opType, inputs, outputs, domain, attributes);
        return outputs;
    }

    /// <summary>Adds a node whose output names are already chosen (reserved or unique) by the caller.</summary>
    public NodeProto NodeWithOutputs(string opType, IReadOnlyList<string> inputs, IReadOnlyList<string> outputs, string domain = "", params AttributeProto[] attributes)
    {
        var node = new NodeProto { OpType = opType, Domain = domain, Name = UniqueName(opType + "_node") };
        node.Input.AddRange(inputs);
        foreach (var o in outputs) { node.Output.Add(o); _names.Add(o); }
        node.Attribute.AddRange(attributes);
        Graph.Node.Add(node);
        return node;
    }

    /// <summary>Adds a float32 initializer and returns its name.</summary>
    public string Initializer(string hint, ReadOnlySpan<float> values, params long[] dims)
    {
        var name = UniqueName(hint);
        Graph.Initializer.Add(OnnxTensor.FromFloats(name, values, dims));
        return name;
    }

    /// <summary>Adds an int64 initializer and returns its name.</summary>
    public string Initializer(string hint, ReadOnlySpan<long> values, params long[] dims)
    {
        var name = UniqueName(hint);
        Graph.Initializer.Add(OnnxTensor.FromInt64s(name, values, dims));
        return name;
    }

    /// <summary>Adds a prepared initializer under a fresh name derived from its own.</summary>
    public string Initializer(TensorProto tensor)
    {
        tensor.Name = UniqueName(tensor.Name.Length > 0 ? tensor.Name : "const");
        Graph.Initializer.Add(tensor);
        return tensor.Name;
    }

    /// <summary>A float32 scalar constant (rank 0).</summary>
    public string Scalar(float value, string hint = "scalar") => Initializer(hint, [value]);

    /// <summary>An int64 1-D constant (shapes, axes).</summary>
    public string Int64s(string hint, params long[] values) => Initializer(hint, values.AsSpan(), values.Length);

    /// <summary>Declares a graph input with a fixed name; null dims are symbolic (named by <paramref name="symbols"/>).</summary>
    public string Input(string name, DataType type, long?[] dims, string[]? symbols = null)
    {
        ReserveName(name);
        Graph.Input.Add(ValueInfo(name, type, dims, symbols));
        return name;
    }

    /// <summary>Declares an existing tensor as a graph output.</summary>
    public void Output(string name, DataType type, long?[]? dims, string[]? symbols = null)
    {
        _names.Add(name);
        Graph.Output.Add(ValueInfo(name, type, dims, symbols));
    }

    /// <summary>Renames the value produced as <paramref name="from"/> to a chosen output name via Identity.</summary>
    public string Alias(string from, string to)
    {
        ReserveName(to);
        NodeWithOutputs("Identity", [from], [to]);
        return to;
    }

    /// <summary>Builds a ValueInfoProto for a tensor of the given type and shape (null shape: unknown rank).</summary>
    public static ValueInfoProto ValueInfo(string name, DataType type, long?[]? dims, string[]? symbols = null)
    {
        var tensor = new TypeProto.Types.Tensor { ElemType = (int)type };
        if (dims is not null)
        {
            tensor.Shape = new TensorShapeProto();
            for (var i = 0; i < dims.Length; i++)
            {
                var d = new TensorShapeProto.Types.Dimension();
                if (dims[i] is { } v) d.DimValue = v;
                else d.DimParam = symbols is not null && i < symbols.Length ? symbols[i] : $"d{i}";
                tensor.Shape.Dim.Add(d);
            }
        }
        return new ValueInfoProto { Name = name, Type = new TypeProto { TensorType = tensor } };
    }
}
