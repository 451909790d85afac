using System.Buffers.Binary;
using System.Text;

namespace OnnxTransfer.Audio;

/// <summary>
/// Reads WAV files (RIFF and RF64/BW64) holding PCM (8-bit unsigned, 16/24/32-bit signed, or any width in a
/// 1-4 byte container) or IEEE float (32/64-bit), plain or WAVE_FORMAT_EXTENSIBLE, with any number of
/// channels; channels are averaged to mono and samples scaled to [-1,1] (integer full scale = 1.0).
/// </summary>
/// <remarks>
/// Unknown chunks are skipped (honouring the pad byte after odd-sized chunks) and the fmt chunk may come after
/// the data chunk. Data sizes: a data chunk whose size field is 0xFFFFFFFF in a plain RIFF file, or 0 when the
/// RIFF size is also 0/0xFFFFFFFF, is the placeholder written by streaming recorders that never went back to fix
/// the header; it means "to the end of the file" and is read as such (whole frames only). Any other data
/// size that points past the end of the file is a truncated file and an error; nothing is allocated beyond
/// what the file actually holds. A trailing partial frame is ignored.
/// </remarks>
internal static class WavReader
{
    /// <summary>The conversion command suggested for unsupported files.</summary>
    public const string ConvertHint = "convert it to PCM WAV, e.g. `ffmpeg -i in.mp3 -ac 1 -ar 16000 out.wav`";

    private const int FormatPcm = 1, FormatFloat = 3, FormatExtensible = 0xFFFE;

    // The KSDATAFORMAT_SUBTYPE_* GUIDs share this tail after the 4-byte format code: xxxxxxxx-0000-0010-8000-00aa00389b71.
    private static readonly byte[] GuidTail = [0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xAA, 0x00, 0x38, 0x9B, 0x71];

    /// <summary>Reads <paramref name="path"/> as mono samples in [-1,1] at the file's sample rate.</summary>
    public static AudioClip Read(string path)
    {
        // Before opening: opening a FIFO named .wav would block for ever.
        if (InputFile.Problem(path) is { } problem) throw new AudioFormatException($"{path}: {problem}");
        FileStream stream;
        try
        {
            stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new AudioFormatException($"{path}: audio file not found; check the path.", e);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new AudioFormatException($"{path}: cannot open the audio file ({e.Message.Trim()}).", e);
        }
        using (stream)
        {
            try { return Read(stream, path); }
            catch (IOException e) { throw new AudioFormatException($"{path}: could not read the audio file ({e.Message.Trim()}).", e); }
        }
    }

    /// <summary>Reads WAV data from a seekable <paramref name="stream"/>; <paramref name="name"/> is used in error messages.</summary>
    public static AudioClip Read(Stream stream, string name)
    {
        if (!stream.CanSeek) throw new ArgumentException("the WAV reader needs a seekable stream", nameof(stream));
        var start = stream.Position;
        var length = stream.Length - start;
        Span<byte> head = stackalloc byte[12];
        if (length < 12 || stream.ReadAtLeast(head, 12, throwOnEndOfStream: false) < 12)
            throw Error(name, length == 0 ? "the file is empty" : $"only {length} bytes, too short to be a WAV file", "");

        var riffId = Ascii(head[..4]);
        var rf64 = riffId is "RF64" or "BW64";
        if (riffId == "RIFX") throw Error(name, "big-endian RIFX WAV is not supported", ConvertHint);
        if (riffId != "RIFF" && !rf64) throw Error(name, $"not a WAV file ({Sniff(head)})", ConvertHint);
        if (Ascii(head[8..12]) != "WAVE")
            throw Error(name, $"a RIFF file of type '{Printable(head[8..12])}', not WAVE", ConvertHint);
        var riffSize32 = BinaryPrimitives.ReadUInt32LittleEndian(head[4..8]);

        WavFormat? format = null;
        long dataOffset = -1, dataSize = -1, ds64DataSize = -1;
        Span<byte> chunkHead = stackalloc byte[8];
        long pos = 12;
        while (pos + 8 <= length && (format is null || dataOffset < 0))
        {
            stream.Position = start + pos;
            stream.ReadExactly(chunkHead);
            var id = Ascii(chunkHead[..4]);
            var size32 = BinaryPrimitives.ReadUInt32LittleEndian(chunkHead[4..]);
            long size = size32;
            var body = pos + 8;
            var available = length - body;
            if (!IsChunkId(chunkHead[..4]))
                throw Error(name, $"damaged: unreadable chunk header at byte {pos}", "re-export the file or " + ConvertHint);

            switch (id)
            {
                case "ds64" when rf64:
                    if (size < 24 || size > available) throw Error(name, "RF64 ds64 chunk is too short", "re-export the file");
                    var ds64 = ReadBytes(stream, 24);
                    ds64DataSize = BinaryPrimitives.ReadInt64LittleEndian(ds64.AsSpan(8));
                    break;
                case "fmt ":
                    if (size < 16) throw Error(name, $"fmt chunk is {size} bytes, too short (needs at least 16)", "re-export the file or " + ConvertHint);
                    if (size > available) throw Error(name, "truncated inside the fmt chunk", "re-export the file");
                    format = ParseFormat(ReadBytes(stream, (int)Math.Min(size, 64)), name);
                    break;
                case "data":
                    if (rf64 && size32 == uint.MaxValue)
                    {
                        if (ds64DataSize < 0) throw Error(name, "RF64 file without a valid ds64 chunk before its data", "re-export the file");
                        size = ds64DataSize;
                    }
                    else if (!rf64 && (size32 == uint.MaxValue || (size32 == 0 && riffSize32 is 0 or uint.MaxValue)))
                    {
                        size = available; // streaming placeholder: the data runs to the end of the file
                    }
                    if (size > available)
                        throw Error(name, $"truncated: the data chunk declares {size} bytes of audio but the file holds {available}",
                            "re-export it, or repair it with `ffmpeg -i in.wav out.wav`");
                    dataOffset = body;
                    dataSize = size;
                    break;
            }
            pos = body + size + (size & 1);
        }
        if (format is null) throw Error(name, "no fmt chunk", "re-export the file or " + ConvertHint);
        if (dataOffset < 0) throw Error(name, "no data chunk", "re-export the file or " + ConvertHint);

        stream.Position = start + dataOffset;
        return Decode(stream, dataSize, format, name);
    }

    private sealed record WavFormat(bool IsFloat, int Channels, int SampleRate, int ContainerBytes);

    private static WavFormat ParseFormat(byte[] fmt, string name)
    {
        var s = fmt.AsSpan();
        int tag = BinaryPrimitives.ReadUInt16LittleEndian(s);
        int channels = BinaryPrimitives.ReadUInt16LittleEndian(s[2..]);
        var rate = BinaryPrimitives.ReadUInt32LittleEndian(s[4..]);
        int blockAlign = BinaryPrimitives.ReadUInt16LittleEndian(s[12..]);
        int bits = BinaryPrimitives.ReadUInt16LittleEndian(s[14..]);
        if (tag == FormatExtensible)
        {
            if (s.Length < 40) throw Error(name, $"WAVE_FORMAT_EXTENSIBLE fmt chunk is {s.Length} bytes, too short (needs 40)", "re-export the file or " + ConvertHint);
            var sub = s[24..40];
            if (!sub[4..].SequenceEqual(GuidTail))
                throw Error(name, $"WAVE_FORMAT_EXTENSIBLE sub-format {new Guid(sub)} is not supported", ConvertHint);
            tag = (int)BinaryPrimitives.ReadUInt32LittleEndian(sub);
        }
        if (tag != FormatPcm && tag != FormatFloat)
            throw Error(name, $"WAV codec 0x{tag:X4}{CodecName(tag)} is not supported (only PCM and IEEE float)", ConvertHint);
        if (channels == 0) throw Error(name, "the fmt chunk declares 0 channels", "re-export the file");
        if (rate == 0 || rate > 1_000_000) throw Error(name, $"implausible sample rate {rate} Hz", "re-export the file");
        if (blockAlign == 0 || blockAlign % channels != 0 || bits == 0)
            throw Error(name, $"inconsistent fmt chunk ({channels} channels, {bits} bits, block align {blockAlign})", "re-export the file");
        var container = blockAlign / channels;
        var ok = tag == FormatFloat ? (container == 4 && bits == 32) || (container == 8 && bits == 64)
                                    : container is >= 1 and <= 4 && bits <= container * 8;
        if (!ok)
            throw Error(name, $"{(tag == FormatFloat ? "float" : "PCM")} with {bits} bits in {container}-byte samples is not supported", ConvertHint);
        return new WavFormat(tag == FormatFloat, channels, (int)rate, container);
    }

    private static AudioClip Decode(Stream stream, long dataSize, WavFormat f, string name)
    {
        var frameBytes = f.Channels * f.ContainerBytes;
        var frames = dataSize / frameBytes;
        if (frames > Array.MaxLength)
            throw Error(name, $"{frames} samples is too long to load at once", "split it into shorter files");
        var samples = new float[frames];
        var framesPerBuffer = Math.Max(1, (1 << 16) / frameBytes);
        var buffer = new byte[framesPerBuffer * frameBytes];
        var scale = 1f / f.Channels;
        long done = 0;
        while (done < frames)
        {
            var n = (int)Math.Min(framesPerBuffer, frames - done);
            var bytes = buffer.AsSpan(0, n * frameBytes);
            if (stream.ReadAtLeast(bytes, bytes.Length, throwOnEndOfStream: false) < bytes.Length)
                throw Error(name, "the file ended while reading its audio data", "re-export it, or repair it with `ffmpeg -i in.wav out.wav`");
            var dest = samples.AsSpan((int)done, n);
            if (f.Channels == 1) DecodeChannel(bytes, f, 0, dest, accumulate: false);
            else
            {
                dest.Clear();
                for (var c = 0; c < f.Channels; c++) DecodeChannel(bytes, f, c, dest, accumulate: true);
                for (var i = 0; i < dest.Length; i++) dest[i] *= scale;
            }
            done += n;
        }
        return new AudioClip(samples, f.SampleRate);
    }

    /// <summary>Decodes channel <paramref name="channel"/> of interleaved frames into <paramref name="dest"/> (or adds to it).</summary>
    private static void DecodeChannel(ReadOnlySpan<byte> bytes, WavFormat f, int channel, Span<float> dest, bool accumulate)
    {
        var stride = f.Channels * f.ContainerBytes;
        var offset = channel * f.ContainerBytes;
        for (var i = 0; i < dest.Length; i++)
        {
            var b = bytes.Slice(i * stride + offset, f.ContainerBytes);
            // Integer samples are left-justified in their container, so scaling by the container's full range is exact for any bit depth.
            var v = (f.IsFloat, f.ContainerBytes) switch
            {
                (true, 4) => BinaryPrimitives.ReadSingleLittleEndian(b),
                (true, _) => (float)BinaryPrimitives.ReadDoubleLittleEndian(b),
                (false, 1) => (b[0] - 128) / 128f,
                (false, 2) => BinaryPrimitives.ReadInt16LittleEndian(b) / 32768f,
                (false, 3) => ((b[0] << 8) | (b[1] << 16) | (b[2] << 24)) / 2147483648f,
                _ => BinaryPrimitives.ReadInt32LittleEndian(b) / 2147483648f,
            };
            if (accumulate) dest[i] += v; else dest[i] = v;
        }
    }

    private static byte[] ReadBytes(Stream stream, int count)
    {
        var bytes = new byte[count];
        stream.ReadExactly(bytes);
        return bytes;
    }

    private static bool IsChunkId(ReadOnlySpan<byte> id)
    {
        foreach (var b in id) if (b < 0x20 || b > 0x7E) return false;
        return true;
    }

    private static string Ascii(ReadOnlySpan<byte> b) => Encoding.ASCII.GetString(b);

    private static string Printable(ReadOnlySpan<byte> b)
    {
        var sb = new StringBuilder();
        foreach (var c in b) sb.Append(c is >= 0x20 and <= 0x7E ? (char)c : '?');
        return sb.ToString();
    }

    /// <summary>Names common non-WAV formats from their first bytes, so the error says what the file is.</summary>
    private static string Sniff(ReadOnlySpan<byte> head)
    {
        var id = Ascii(head[..4]);
        if (id.StartsWith("ID3", StringComparison.Ordinal) || (head[0] == 0xFF && (head[1] & 0xE0) == 0xE0)) return "looks like MP3/MPEG audio";
        if (id == "OggS") return "looks like Ogg (Vorbis/Opus)";
        if (id == "fLaC") return "looks like FLAC";
        if (id == "FORM") return "looks like AIFF";
        if (Ascii(head[4..8]) == "ftyp") return "looks like MP4/M4A";
        if (head[0] == 0x1A && head[1] == 0x45 && head[2] == 0xDF && head[3] == 0xA3) return "looks like WebM/Matroska";
        return $"starts with '{Printable(head[..4])}', not RIFF";
    }

    private static string CodecName(int tag) => tag switch
    {
        0x0002 => " (Microsoft ADPCM)",
        0x0006 => " (A-law)",
        0x0007 => " (mu-law)",
        0x0011 => " (IMA ADPCM)",
        0x0031 => " (GSM 6.10)",
        0x0050 => " (MPEG)",
        0x0055 => " (MP3)",
        0x0160 or 0x0161 or 0x0162 or 0x0163 => " (WMA)",
        0x2000 => " (AC-3)",
        0xF1AC => " (FLAC)",
        _ => "",
    };

    private static AudioFormatException Error(string name, string problem, string fix) =>
        new(fix.Length == 0 ? $"{name}: {problem}." : $"{name}: {problem}; {fix}.");
}
