using OnnxTransfer.Onnx.Proto;
using DataType = OnnxTransfer.Onnx.Proto.TensorProto.Types.DataType;

namespace OnnxTransfer.Onnx;

/// <summary>One dimension of a tensor shape: a fixed size, or symbolic (named, e.g. the batch "N").</summary>
/// <param name="Value">The size, or null when symbolic or unknown.</param>
/// <param name="Symbol">The symbol's name when <paramref name="Value"/> is null ("" when unnamed).</param>
internal readonly record struct TensorDim(long? Value, string Symbol = "")
{
    /// <summary>A fixed-size dimension.</summary>
    public static TensorDim Fixed(long value) => new(value);

    /// <summary>A symbolic dimension.</summary>
    public static TensorDim Symbolic(string symbol) => new(null, symbol);

    /// <summary>The size, or the symbol ("?" when unnamed).</summary>
    public override string ToString() => Value?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? (Symbol.Length > 0 ? Symbol : "?");
}

/// <summary>What is known about one tensor of a graph: its element type and (when known) its shape.</summary>
/// <param name="Name">The tensor's name in the graph.</param>
/// <param name="ElementType">Element type (<see cref="DataType.Undefined"/> when unknown).</param>
/// <param name="Shape">Dimensions, or null when even the rank is unknown.</param>
internal sealed record TensorInfo(string Name, DataType ElementType, IReadOnlyList<TensorDim>? Shape)
{
    /// <summary>Rank, or -1 when unknown.</summary>
    public int Rank => Shape?.Count ?? -1;

    /// <summary>True for 8-bit integer element types (the activations of quantized models).</summary>
    public bool IsEightBit => ElementType is DataType.Uint8 or DataType.Int8;

    /// <summary>True when the type and every dimension after the first (the batch) are known sizes.</summary>
    public bool IsCompleteBeyondBatch =>
        ElementType != DataType.Undefined && Shape is not null && Shape.Skip(1).All(d => d.Value is not null);

    /// <summary>Elements per batch item: the product of all dimensions after the first (null when one is unknown).</summary>
    public long? ElementsPerItem
    {
        get
        {
            if (Shape is null || Shape.Count == 0) return null;
            long n = 1;
            foreach (var d in Shape.Skip(1))
            {
                if (d.Value is not { } v) return null;
                n *= v;
            }
            return n;
        }
    }

    /// <summary>The shape as text, e.g. "[N,1280]" ("[?]" when the rank is unknown).</summary>
    public string ShapeText => Shape is null ? "[?]" : "[" + string.Join(",", Shape) + "]";

    /// <summary>Short type name, e.g. "float32", "uint8".</summary>
    public string ElementTypeName => TypeName(ElementType);

    /// <summary>"uint8 [N,1280]".</summary>
    public override string ToString() => $"{ElementTypeName} {ShapeText}";

    /// <summary>A ValueInfoProto carrying this type and shape (for graph outputs and value_info).</summary>
    public ValueInfoProto ToValueInfo(string? name = null)
    {
        if (Shape is null) return GraphBuilder.ValueInfo(name ?? Name, ElementType, null);
        var dims = Shape.Select(d => d.Value).ToArray();
        var symbols = Shape.Select((d, i) => d.Value is null ? (d.Symbol.Length > 0 ? d.Symbol : $"d{i}") : "").ToArray();
        return GraphBuilder.ValueInfo(name ?? Name, ElementType, dims, symbols);
    }

    /// <summary>Reads a ValueInfoProto; missing type or shape become Undefined / null.</summary>
    public static TensorInfo FromValueInfo(ValueInfoProto info)
    {
        var tensor = info.Type?.TensorType;
        if (tensor is null) return new TensorInfo(info.Name, DataType.Undefined, null);
        IReadOnlyList<TensorDim>? shape = tensor.Shape is null
            ? null
            : tensor.Shape.Dim.Select(d => d.ValueCase == TensorShapeProto.Types.Dimension.ValueOneofCase.DimValue && d.DimValue >= 0
                ? TensorDim.Fixed(d.DimValue)
                : TensorDim.Symbolic(d.DimParam)).ToArray();
        return new TensorInfo(info.Name, (DataType)tensor.ElemType, shape);
    }

    /// <summary>The type and shape of an initializer (always fully known).</summary>
    public static TensorInfo FromInitializer(TensorProto tensor) =>
        new(tensor.Name, (DataType)tensor.DataType, tensor.Dims.Select(TensorDim.Fixed).ToArray());

    /// <summary>Short name of an ONNX element type ("float32", "uint8", ...).</summary>
    public static string TypeName(DataType type) => type switch
    {
        DataType.Float => "float32",
        DataType.Double => "float64",
        DataType.Float16 => "float16",
        DataType.Bfloat16 => "bfloat16",
        DataType.Undefined => "unknown",
        _ => type.ToString().ToLowerInvariant(),
    };
}
