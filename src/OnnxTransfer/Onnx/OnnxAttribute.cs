using Google.Protobuf;
using OnnxTransfer.Onnx.Proto;
using AttrType = OnnxTransfer.Onnx.Proto.AttributeProto.Types.AttributeType;

namespace OnnxTransfer.Onnx;

/// <summary>Makes and reads node attributes (the typed fields of <see cref="AttributeProto"/>).</summary>
internal static class OnnxAttribute
{
    /// <summary>An int attribute.</summary>
    public static AttributeProto Int(string name, long value) => new() { Name = name, Type = AttrType.Int, I = value };

    /// <summary>A float attribute.</summary>
    public static AttributeProto Float(string name, float value) => new() { Name = name, Type = AttrType.Float, F = value };

    /// <summary>A string attribute (UTF-8).</summary>
    public static AttributeProto String(string name, string value) =>
        new() { Name = name, Type = AttrType.String, S = ByteString.CopyFromUtf8(value) };

    /// <summary>An ints attribute.</summary>
    public static AttributeProto Ints(string name, params long[] values)
    {
        var a = new AttributeProto { Name = name, Type = AttrType.Ints };
        a.Ints.AddRange(values);
        return a;
    }

    /// <summary>A floats attribute.</summary>
    public static AttributeProto Floats(string name, params float[] values)
    {
        var a = new AttributeProto { Name = name, Type = AttrType.Floats };
        a.Floats.AddRange(values);
        return a;
    }

    /// <summary>A tensor attribute (e.g. Constant's value).</summary>
    public static AttributeProto Tensor(string name, TensorProto value) => new() { Name = name, Type = AttrType.Tensor, T = value };

    /// <summary>The attribute named <paramref name="name"/> on <paramref name="node"/>, or null.</summary>
    public static AttributeProto? Find(NodeProto node, string name)
    {
        foreach (var a in node.Attribute)
            if (a.Name == name) return a;
        return null;
    }

    /// <summary>An int attribute's value, or <paramref name="fallback"/>.</summary>
    public static long GetInt(NodeProto node, string name, long fallback) => Find(node, name) is { } a ? a.I : fallback;

    /// <summary>A float attribute's value, or <paramref name="fallback"/>.</summary>
    public static float GetFloat(NodeProto node, string name, float fallback) => Find(node, name) is { } a ? a.F : fallback;

    /// <summary>A string attribute's value, or <paramref name="fallback"/>.</summary>
    public static string GetString(NodeProto node, string name, string fallback) => Find(node, name) is { } a ? a.S.ToStringUtf8() : fallback;

    /// <summary>An ints attribute's values, or <paramref name="fallback"/>.</summary>
    public static long[] GetInts(NodeProto node, string name, long[] fallback) => Find(node, name) is { } a ? a.Ints.ToArray() : fallback;
}
