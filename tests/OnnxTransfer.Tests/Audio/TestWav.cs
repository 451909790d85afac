using System.Buffers.Binary;
using System.Text;

namespace OnnxTransfer.Tests.Audio;

/// <summary>Builds WAV byte images chunk by chunk (independently of the library's writer) for reader tests.</summary>
internal sealed class TestWav
{
    private readonly List<(string Id, byte[] Body, uint? SizeOverride)> _chunks = [];

    public string RiffId { get; set; } = "RIFF";
    public string FormType { get; set; } = "WAVE";
    public uint? RiffSizeOverride { get; set; }

    public TestWav Chunk(string id, byte[] body, uint? sizeOverride = null)
    {
        _chunks.Add((id, body, sizeOverride));
        return this;
    }

    /// <summary>A plain 16-byte fmt chunk.</summary>
    public TestWav Fmt(int tag, int channels, int rate, int bits, int? blockAlign = null)
    {
        var align = blockAlign ?? channels * ((bits + 7) / 8);
        var b = new byte[16];
        BinaryPrimitives.WriteUInt16LittleEndian(b, (ushort)tag);
        BinaryPrimitives.WriteUInt16LittleEndian(b.AsSpan(2), (ushort)channels);
        BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(4), (uint)rate);
        BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(8), (uint)(rate * align));
        BinaryPrimitives.WriteUInt16LittleEndian(b.AsSpan(12), (ushort)align);
        BinaryPrimitives.WriteUInt16LittleEndian(b.AsSpan(14), (ushort)bits);
        return Chunk("fmt ", b);
    }

    /// <summary>A 40-byte WAVE_FORMAT_EXTENSIBLE fmt chunk with sub-format code <paramref name="subFormat"/>.</summary>
    public TestWav FmtExtensible(int subFormat, int channels, int rate, int bits, int validBits)
    {
        var align = channels * bits / 8;
        var b = new byte[40];
        BinaryPrimitives.WriteUInt16LittleEndian(b, 0xFFFE);
        BinaryPrimitives.WriteUInt16LittleEndian(b.AsSpan(2), (ushort)channels);
        BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(4), (uint)rate);
        BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(8), (uint)(rate * align));
        BinaryPrimitives.WriteUInt16LittleEndian(b.AsSpan(12), (ushort)align);
        BinaryPrimitives.WriteUInt16LittleEndian(b.AsSpan(14), (ushort)bits);
        BinaryPrimitives.WriteUInt16LittleEndian(b.AsSpan(16), 22);
        BinaryPrimitives.WriteUInt16LittleEndian(b.AsSpan(18), (ushort)validBits);
        BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(20), channels == 1 ? 4u : 3u);
        // KSDATAFORMAT_SUBTYPE_PCM / _IEEE_FLOAT: {0000000X-0000-0010-8000-00AA00389B71}
        new Guid($"{subFormat:X8}-0000-0010-8000-00AA00389B71").TryWriteBytes(b.AsSpan(24));
        return Chunk("fmt ", b);
    }

    public TestWav Data(byte[] body, uint? sizeOverride = null) => Chunk("data", body, sizeOverride);

    public byte[] ToBytes()
    {
        using var ms = new MemoryStream();
        ms.Write(Encoding.ASCII.GetBytes(RiffId));
        ms.Write(new byte[4]);
        ms.Write(Encoding.ASCII.GetBytes(FormType));
        foreach (var (id, body, sizeOverride) in _chunks)
        {
            ms.Write(Encoding.ASCII.GetBytes(id));
            var size = new byte[4];
            BinaryPrimitives.WriteUInt32LittleEndian(size, sizeOverride ?? (uint)body.Length);
            ms.Write(size);
            ms.Write(body);
            if (body.Length % 2 == 1) ms.WriteByte(0);
        }
        var bytes = ms.ToArray();
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(4), RiffSizeOverride ?? (uint)(bytes.Length - 8));
        return bytes;
    }

    public static byte[] Int16(params int[] values)
    {
        var b = new byte[values.Length * 2];
        for (var i = 0; i < values.Length; i++) BinaryPrimitives.WriteInt16LittleEndian(b.AsSpan(2 * i), (short)values[i]);
        return b;
    }

    public static byte[] Int24(params int[] values)
    {
        var b = new byte[values.Length * 3];
        for (var i = 0; i < values.Length; i++)
        {
            b[3 * i] = (byte)values[i];
            b[3 * i + 1] = (byte)(values[i] >> 8);
            b[3 * i + 2] = (byte)(values[i] >> 16);
        }
        return b;
    }

    public static byte[] Int32(params int[] values)
    {
        var b = new byte[values.Length * 4];
        for (var i = 0; i < values.Length; i++) BinaryPrimitives.WriteInt32LittleEndian(b.AsSpan(4 * i), values[i]);
        return b;
    }

    public static byte[] Float32(params float[] values)
    {
        var b = new byte[values.Length * 4];
        for (var i = 0; i < values.Length; i++) BinaryPrimitives.WriteSingleLittleEndian(b.AsSpan(4 * i), values[i]);
        return b;
    }

    public static byte[] Float64(params double[] values)
    {
        var b = new byte[values.Length * 8];
        for (var i = 0; i < values.Length; i++) BinaryPrimitives.WriteDoubleLittleEndian(b.AsSpan(8 * i), values[i]);
        return b;
    }
}
