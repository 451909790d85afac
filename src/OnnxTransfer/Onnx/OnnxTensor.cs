using System.Runtime.InteropServices;
using Google.Protobuf;
using OnnxTransfer.Onnx.Proto;
using DataType = OnnxTransfer.Onnx.Proto.TensorProto.Types.DataType;

namespace OnnxTransfer.Onnx;

/// <summary>Converts between <see cref="TensorProto"/> and .NET arrays (raw_data little-endian, as ONNX stores it).</summary>
internal static class OnnxTensor
{
    /// <summary>A float32 tensor.</summary>
    public static TensorProto FromFloats(string name, ReadOnlySpan<float> values, params long[] dims) =>
        Raw(name, DataType.Float, MemoryMarshal.AsBytes(values), dims, values.Length);

    /// <summary>A float64 tensor.</summary>
    public static TensorProto FromDoubles(string name, ReadOnlySpan<double> values, params long[] dims) =>
        Raw(name, DataType.Double, MemoryMarshal.AsBytes(values), dims, values.Length);

    /// <summary>An int64 tensor.</summary>
    public static TensorProto FromInt64s(string name, ReadOnlySpan<long> values, params long[] dims) =>
        Raw(name, DataType.Int64, MemoryMarshal.AsBytes(values), dims, values.Length);

    /// <summary>An int32 tensor.</summary>
    public static TensorProto FromInt32s(string name, ReadOnlySpan<int> values, params long[] dims) =>
        Raw(name, DataType.Int32, MemoryMarshal.AsBytes(values), dims, values.Length);

    /// <summary>A uint8 tensor.</summary>
    public static TensorProto FromBytes(string name, ReadOnlySpan<byte> values, params long[] dims) =>
        Raw(name, DataType.Uint8, values, dims, values.Length);

    /// <summary>Number of elements a shape holds (1 for a scalar).</summary>
    public static long ElementCount(IEnumerable<long> dims)
    {
        long n = 1;
        foreach (var d in dims) n *= d;
        return n;
    }

    /// <summary>
    /// Reads any numeric tensor as float32 values (integers converted, not dequantized).
    /// </summary>
    public static float[] ToFloats(TensorProto t)
    {
        var n = (int)ElementCount(t.Dims);
        switch ((DataType)t.DataType)
        {
            case DataType.Float:
                return t.RawData.Length > 0 ? MemoryMarshal.Cast<byte, float>(t.RawData.Span).ToArray() : t.FloatData.ToArray();
            case DataType.Double:
                return (t.RawData.Length > 0 ? MemoryMarshal.Cast<byte, double>(t.RawData.Span).ToArray() : t.DoubleData.ToArray())
                    .Select(v => (float)v).ToArray();
            case DataType.Int64:
                return ToInt64s(t).Select(v => (float)v).ToArray();
            case DataType.Uint8:
                return (t.RawData.Length > 0 ? t.RawData.ToByteArray() : t.Int32Data.Select(v => (byte)v).ToArray()).Select(v => (float)v).ToArray();
            case DataType.Int8:
                return (t.RawData.Length > 0 ? MemoryMarshal.Cast<byte, sbyte>(t.RawData.Span).ToArray() : t.Int32Data.Select(v => (sbyte)v).ToArray())
                    .Select(v => (float)v).ToArray();
            case DataType.Int32:
                return (t.RawData.Length > 0 ? MemoryMarshal.Cast<byte, int>(t.RawData.Span).ToArray() : t.Int32Data.ToArray()).Select(v => (float)v).ToArray();
            case DataType.Float16:
                return t.RawData.Length > 0
                    ? MemoryMarshal.Cast<byte, Half>(t.RawData.Span).ToArray().Select(v => (float)v).ToArray()
                    : t.Int32Data.Select(v => (float)BitConverter.UInt16BitsToHalf((ushort)v)).ToArray();
            default:
                throw new OnnxFormatException($"tensor '{t.Name}': data type {(DataType)t.DataType} cannot be read as float (elements: {n}).");
        }
    }

    /// <summary>Reads an int64/int32 tensor as int64 values.</summary>
    public static long[] ToInt64s(TensorProto t) => (DataType)t.DataType switch
    {
        DataType.Int64 => t.RawData.Length > 0 ? MemoryMarshal.Cast<byte, long>(t.RawData.Span).ToArray() : t.Int64Data.ToArray(),
        DataType.Int32 => (t.RawData.Length > 0 ? MemoryMarshal.Cast<byte, int>(t.RawData.Span).ToArray() : t.Int32Data.ToArray()).Select(v => (long)v).ToArray(),
        _ => throw new OnnxFormatException($"tensor '{t.Name}': data type {(DataType)t.DataType} is not an integer type."),
    };

    private static TensorProto Raw(string name, DataType type, ReadOnlySpan<byte> bytes, long[] dims, int count)
    {
        if (ElementCount(dims) != count)
            throw new ArgumentException($"tensor '{name}': {count} values do not fill shape [{string.Join(",", dims)}].");
        var t = new TensorProto { Name = name, DataType = (int)type, RawData = ByteString.CopyFrom(bytes) };
        t.Dims.AddRange(dims);
        return t;
    }
}
