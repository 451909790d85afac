using System.Buffers.Binary;

namespace OnnxTransfer.Audio;

/// <summary>Writes mono 16-bit PCM WAV files (atomically: readers never see half a file).</summary>
internal static class WavWriter
{
    /// <summary>
    /// Writes <paramref name="samples"/> (nominally [-1,1]; clipped to it) as 16-bit PCM at
    /// <paramref name="sampleRate"/>. Values are rounded to the nearest step of 1/32768, the scale
    /// <see cref="WavReader"/> reads back.
    /// </summary>
    public static void Write(string path, ReadOnlySpan<float> samples, int sampleRate)
    {
        var bytes = Encode(samples, sampleRate, path);
        AtomicFile.Write(path, stream => stream.Write(bytes));
    }

    /// <summary>The bytes of the WAV file <see cref="Write(string, ReadOnlySpan{float}, int)"/> writes (e.g. to embed a clip in a page).</summary>
    public static byte[] Encode(ReadOnlySpan<float> samples, int sampleRate, string name = "audio")
    {
        if (sampleRate <= 0) throw new OnnxTransferException($"{name}: sample rate {sampleRate} is not positive; pass the clip's rate in Hz.");
        var dataBytes = (long)samples.Length * 2;
        if (dataBytes > uint.MaxValue - 36) throw new OnnxTransferException($"{name}: {samples.Length} samples do not fit in a WAV file (4 GB limit); split the audio.");
        var bytes = new byte[44 + dataBytes];
        var s = bytes.AsSpan();
        "RIFF"u8.CopyTo(s);
        BinaryPrimitives.WriteUInt32LittleEndian(s[4..], (uint)(36 + dataBytes));
        "WAVEfmt "u8.CopyTo(s[8..]);
        BinaryPrimitives.WriteUInt32LittleEndian(s[16..], 16);
        BinaryPrimitives.WriteUInt16LittleEndian(s[20..], 1);              // PCM
        BinaryPrimitives.WriteUInt16LittleEndian(s[22..], 1);              // mono
        BinaryPrimitives.WriteUInt32LittleEndian(s[24..], (uint)sampleRate);
        BinaryPrimitives.WriteUInt32LittleEndian(s[28..], (uint)sampleRate * 2);
        BinaryPrimitives.WriteUInt16LittleEndian(s[32..], 2);              // block align
        BinaryPrimitives.WriteUInt16LittleEndian(s[34..], 16);             // bits
        "data"u8.CopyTo(s[36..]);
        BinaryPrimitives.WriteUInt32LittleEndian(s[40..], (uint)dataBytes);
        for (var i = 0; i < samples.Length; i++)
        {
            var v = Math.Clamp(MathF.Round(samples[i] * 32768f), -32768f, 32767f);
            BinaryPrimitives.WriteInt16LittleEndian(s[(44 + 2 * i)..], (short)v);
        }
        return bytes;
    }

    /// <summary>Writes <paramref name="clip"/> (see <see cref="Write(string, ReadOnlySpan{float}, int)"/>).</summary>
    public static void Write(string path, AudioClip clip) => Write(path, clip.Samples, clip.SampleRate);
}
