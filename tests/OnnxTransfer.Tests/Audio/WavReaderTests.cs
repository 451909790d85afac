using System.Buffers.Binary;
using OnnxTransfer.Audio;

namespace OnnxTransfer.Tests.Audio;

public class WavReaderTests
{
    private static AudioClip ReadBytes(TempDir dir, string name, byte[] bytes)
    {
        File.WriteAllBytes(dir.File(name), bytes);
        return WavReader.Read(dir.File(name));
    }

    private static AudioFormatException Fails(TempDir dir, string name, byte[] bytes)
    {
        File.WriteAllBytes(dir.File(name), bytes);
        var e = Assert.Throws<AudioFormatException>(() => WavReader.Read(dir.File(name)));
        Assert.Contains(name, e.Message);
        Assert.DoesNotContain('\n', e.Message);
        return e;
    }

    private static void Same(float[] expected, float[] actual, float tolerance = 0)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (var i = 0; i < expected.Length; i++) Assert.True(Math.Abs(expected[i] - actual[i]) <= tolerance, $"sample {i}: {expected[i]} vs {actual[i]}");
    }

    [Fact]
    public void Eight_bit_is_unsigned_around_128()
    {
        using var dir = new TempDir();
        var clip = ReadBytes(dir, "u8.wav", new TestWav().Fmt(1, 1, 8000, 8).Data([0, 128, 255, 64, 192]).ToBytes());
        Assert.Equal(8000, clip.SampleRate);
        Same([-1f, 0f, 127 / 128f, -0.5f, 0.5f], clip.Samples);
    }

    [Fact]
    public void Sixteen_twentyfour_and_thirtytwo_bit_integers_scale_by_full_range()
    {
        using var dir = new TempDir();
        var c16 = ReadBytes(dir, "s16.wav", new TestWav().Fmt(1, 1, 16000, 16).Data(TestWav.Int16(-32768, 0, 32767, 16384, -1)).ToBytes());
        Same([-1f, 0f, 32767 / 32768f, 0.5f, -1 / 32768f], c16.Samples);
        var c24 = ReadBytes(dir, "s24.wav", new TestWav().Fmt(1, 1, 22050, 24).Data(TestWav.Int24(-8388608, 0, 8388607, 4194304, -1)).ToBytes());
        Assert.Equal(22050, c24.SampleRate);
        Same([-1f, 0f, (float)(8388607 / 8388608.0), 0.5f, (float)(-1 / 8388608.0)], c24.Samples);
        var c32 = ReadBytes(dir, "s32.wav", new TestWav().Fmt(1, 1, 48000, 32).Data(TestWav.Int32(int.MinValue, 0, int.MaxValue, 1 << 30, -(1 << 20))).ToBytes());
        Same([-1f, 0f, (float)(int.MaxValue / 2147483648.0), 0.5f, (float)(-(1 << 20) / 2147483648.0)], c32.Samples);
    }

    [Fact]
    public void Float32_and_float64_pass_through()
    {
        using var dir = new TempDir();
        float[] values = [-1f, 0.25f, 0.1f, 1.5f, -0.333f];
        Same(values, ReadBytes(dir, "f32.wav", new TestWav().Fmt(3, 1, 16000, 32).Data(TestWav.Float32(values)).ToBytes()).Samples);
        var doubles = values.Select(v => (double)v + 1e-12).ToArray();
        Same(values, ReadBytes(dir, "f64.wav", new TestWav().Fmt(3, 1, 16000, 64).Data(TestWav.Float64(doubles)).ToBytes()).Samples, 1e-7f);
    }

    [Fact]
    public void Extensible_pcm_and_float_sub_formats_are_read()
    {
        using var dir = new TempDir();
        var pcm = ReadBytes(dir, "ext16.wav", new TestWav().FmtExtensible(1, 1, 16000, 16, 16).Data(TestWav.Int16(16384, -8192)).ToBytes());
        Same([0.5f, -0.25f], pcm.Samples);
        // 20 valid bits left-justified in 24-bit containers: full scale is still the container's.
        var pcm20 = ReadBytes(dir, "ext20in24.wav", new TestWav().FmtExtensible(1, 1, 16000, 24, 20).Data(TestWav.Int24(0x400000, -0x200000)).ToBytes());
        Same([0.5f, -0.25f], pcm20.Samples);
        var flt = ReadBytes(dir, "extf.wav", new TestWav().FmtExtensible(3, 2, 44100, 32, 32).Data(TestWav.Float32(0.5f, 0.25f, -1f, 0f)).ToBytes());
        Assert.Equal(44100, flt.SampleRate);
        Same([0.375f, -0.5f], flt.Samples);
    }

    [Fact]
    public void Channels_are_averaged_to_mono()
    {
        using var dir = new TempDir();
        var stereo = ReadBytes(dir, "stereo.wav", new TestWav().Fmt(1, 2, 16000, 16).Data(TestWav.Int16(16384, 0, -32768, 32767, 100, 100)).ToBytes());
        Same([0.25f, (-32768 + 32767) / 2f / 32768f, 100 / 32768f], stereo.Samples, 1e-7f);
        var three = ReadBytes(dir, "three.wav", new TestWav().Fmt(1, 3, 16000, 8).Data([128 + 64, 128, 128 - 32, 255, 255, 255]).ToBytes());
        Same([(0.5f + 0f - 0.25f) / 3f, 127 / 128f], three.Samples, 1e-7f);
    }

    [Fact]
    public void Rf64_uses_the_ds64_data_size()
    {
        using var dir = new TempDir();
        var data = TestWav.Int16(1000, -2000, 3000);
        var ds64 = new byte[28];
        BinaryPrimitives.WriteInt64LittleEndian(ds64.AsSpan(0), 0);           // RIFF size (unused by the reader)
        BinaryPrimitives.WriteInt64LittleEndian(ds64.AsSpan(8), data.Length); // data size
        BinaryPrimitives.WriteInt64LittleEndian(ds64.AsSpan(16), 3);          // sample count
        var wav = new TestWav { RiffId = "RF64", RiffSizeOverride = uint.MaxValue }
            .Chunk("ds64", ds64).Fmt(1, 1, 16000, 16).Data(data, sizeOverride: uint.MaxValue)
            .Chunk("LIST", new byte[10]);  // a trailing chunk the ds64 size keeps out of the audio
        var clip = ReadBytes(dir, "rf64.wav", wav.ToBytes());
        Same([1000 / 32768f, -2000 / 32768f, 3000 / 32768f], clip.Samples);
    }

    [Fact]
    public void Unknown_odd_sized_chunks_are_skipped_with_their_pad_byte_and_fmt_may_follow_data()
    {
        using var dir = new TempDir();
        var wav = new TestWav()
            .Chunk("junk", [1, 2, 3])                 // odd size: a pad byte follows
            .Data(TestWav.Int16(-16384, 8192, 1))
            .Chunk("bext", new byte[5])
            .Fmt(1, 1, 11025, 16)
            .Chunk("LIST", new byte[7]);
        var clip = ReadBytes(dir, "chunks.wav", wav.ToBytes());
        Assert.Equal(11025, clip.SampleRate);
        Same([-0.5f, 0.25f, 1 / 32768f], clip.Samples);
        // An odd-sized 8-bit data chunk is padded too; the chunk after it must still be found.
        var odd = ReadBytes(dir, "odd.wav", new TestWav().Data([0, 255, 128]).Fmt(1, 1, 8000, 8).ToBytes());
        Same([-1f, 127 / 128f, 0f], odd.Samples);
    }

    [Fact]
    public void Streaming_placeholder_data_size_reads_to_the_end_of_the_file()
    {
        using var dir = new TempDir();
        var data = TestWav.Int16(100, 200, 300, 400);
        var open = ReadBytes(dir, "stream.wav", new TestWav { RiffSizeOverride = uint.MaxValue }.Fmt(1, 1, 16000, 16).Data(data, uint.MaxValue).ToBytes());
        Same([100 / 32768f, 200 / 32768f, 300 / 32768f, 400 / 32768f], open.Samples);
        var zero = ReadBytes(dir, "zero.wav", new TestWav { RiffSizeOverride = 0 }.Fmt(1, 1, 16000, 16).Data(data, 0).ToBytes());
        Assert.Equal(4, zero.Samples.Length);
        // A genuinely empty data chunk (RIFF size filled in) stays empty.
        var empty = ReadBytes(dir, "empty-data.wav", new TestWav().Fmt(1, 1, 16000, 16).Data([]).ToBytes());
        Assert.Empty(empty.Samples);
    }

    [Fact]
    public void A_trailing_partial_frame_is_ignored()
    {
        using var dir = new TempDir();
        var clip = ReadBytes(dir, "partial.wav", new TestWav().Fmt(1, 2, 16000, 16).Data([.. TestWav.Int16(2, 4), 1, 2, 3]).ToBytes());
        Same([3 / 32768f], clip.Samples);
    }

    [Fact]
    public void Truncated_data_and_lying_sizes_are_clear_errors()
    {
        using var dir = new TempDir();
        var bytes = new TestWav().Fmt(1, 1, 16000, 16).Data(TestWav.Int16(Enumerable.Range(0, 1000).ToArray())).ToBytes();
        Assert.Contains("truncated", Fails(dir, "truncated.wav", bytes[..(bytes.Length - 500)]).Message);
        // Header claims ~2 GB of audio in a tiny file: an error, not an allocation.
        var lying = new TestWav().Fmt(1, 1, 16000, 16).Data(TestWav.Int16(1, 2), sizeOverride: 0x7FFFFFF0).ToBytes();
        Assert.Contains("truncated", Fails(dir, "lying.wav", lying).Message);
        Assert.Contains("too short", Fails(dir, "stub.wav", bytes[..10]).Message);
        Assert.Contains("empty", Fails(dir, "empty.wav", []).Message);
        Assert.Contains("no data chunk", Fails(dir, "nodata.wav", new TestWav().Fmt(1, 1, 16000, 16).ToBytes()).Message);
        Assert.Contains("no fmt chunk", Fails(dir, "nofmt.wav", new TestWav().Data(TestWav.Int16(1)).ToBytes()).Message);
        var rf64NoDs64 = new TestWav { RiffId = "RF64" }.Fmt(1, 1, 16000, 16).Data(TestWav.Int16(1), uint.MaxValue).ToBytes();
        Assert.Contains("ds64", Fails(dir, "rf64-no-ds64.wav", rf64NoDs64).Message);
    }

    [Fact]
    public void Bad_headers_are_clear_errors()
    {
        using var dir = new TempDir();
        var good = new TestWav().Fmt(1, 1, 16000, 16).Data(TestWav.Int16(1, 2));
        Assert.Contains("RIFX", Fails(dir, "rifx.wav", new TestWav { RiffId = "RIFX" }.Fmt(1, 1, 16000, 16).Data(TestWav.Int16(1)).ToBytes()).Message);
        Assert.Contains("AVI", Fails(dir, "avi.wav", new TestWav { FormType = "AVI " }.Fmt(1, 1, 16000, 16).ToBytes()).Message);
        var shortFmt = new TestWav().Chunk("fmt ", new byte[14]).Data(TestWav.Int16(1)).ToBytes();
        Assert.Contains("too short", Fails(dir, "shortfmt.wav", shortFmt).Message);
        var shortExt = new TestWav().Chunk("fmt ", [.. new TestWav().Fmt(0xFFFE, 1, 16000, 16).ToBytes()[20..36], 0, 0]).Data(TestWav.Int16(1)).ToBytes();
        Assert.Contains("EXTENSIBLE", Fails(dir, "shortext.wav", shortExt).Message);
        Assert.Contains("0 channels", Fails(dir, "nochan.wav", new TestWav().Fmt(1, 0, 16000, 16, blockAlign: 2).Data(TestWav.Int16(1)).ToBytes()).Message);
        Assert.Contains("12 bits", Fails(dir, "pcm12.wav", new TestWav().Fmt(1, 1, 16000, 12, blockAlign: 1).Data([1, 2]).ToBytes()).Message);
        Assert.NotEmpty(ReadBytes(dir, "good.wav", good.ToBytes()).Samples);
    }

    [Theory]
    [InlineData(0x55, "MP3")]
    [InlineData(0x11, "IMA ADPCM")]
    [InlineData(0x07, "mu-law")]
    [InlineData(0x1234, "0x1234")]
    public void Compressed_codecs_are_rejected_with_a_conversion_hint(int tag, string named)
    {
        using var dir = new TempDir();
        var e = Fails(dir, $"codec{tag}.wav", new TestWav().Fmt(tag, 1, 16000, 4, blockAlign: 256).Data(new byte[512]).ToBytes());
        Assert.Contains(named, e.Message);
        Assert.Contains("ffmpeg", e.Message);
    }

    [Fact]
    public void Unsupported_extensible_sub_format_is_rejected()
    {
        using var dir = new TempDir();
        var e = Fails(dir, "ext-mp3.wav", new TestWav().FmtExtensible(0x55, 1, 16000, 16, 16).Data(TestWav.Int16(1)).ToBytes());
        Assert.Contains("MP3", e.Message);
    }

    [Theory]
    [InlineData("song.mp3", new byte[] { (byte)'I', (byte)'D', (byte)'3', 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0 }, "MP3")]
    [InlineData("frame.mp3", new byte[] { 0xFF, 0xFB, 0x90, 0x64, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0 }, "MP3")]
    [InlineData("voice.ogg", new byte[] { (byte)'O', (byte)'g', (byte)'g', (byte)'S', 0, 2, 0, 0, 0, 0, 0, 0, 0, 0 }, "Ogg")]
    [InlineData("voice.flac", new byte[] { (byte)'f', (byte)'L', (byte)'a', (byte)'C', 0, 0, 0, 34, 0, 0, 0, 0, 0, 0 }, "FLAC")]
    [InlineData("notes.txt", new byte[] { (byte)'h', (byte)'e', (byte)'l', (byte)'l', (byte)'o', (byte)' ', (byte)'w', (byte)'o', (byte)'r', (byte)'l', (byte)'d', (byte)'!' }, "not a WAV")]
    public void Non_riff_files_are_named_and_a_conversion_suggested(string name, byte[] bytes, string expected)
    {
        using var dir = new TempDir();
        var e = Fails(dir, name, bytes);
        Assert.Contains(expected, e.Message);
        Assert.Contains("ffmpeg -i", e.Message);
    }

    [Fact]
    public void Missing_file_is_a_clear_error()
    {
        var e = Assert.Throws<AudioFormatException>(() => WavReader.Read("/nonexistent/clip.wav"));
        Assert.Contains("/nonexistent/clip.wav", e.Message);
        Assert.Contains("not found", e.Message);
    }

    [Fact]
    public void Writer_round_trips_through_the_reader_and_leaves_no_temp_file()
    {
        using var dir = new TempDir();
        var samples = Enumerable.Range(0, 1001).Select(i => MathF.Sin(i * 0.05f) * 0.9f).Append(2f).Append(-3f).ToArray();
        var path = dir.File("round.wav");
        WavWriter.Write(path, samples, 22050);
        Assert.Equal(44 + samples.Length * 2, new FileInfo(path).Length);
        var clip = WavReader.Read(path);
        Assert.Equal(22050, clip.SampleRate);
        var expected = samples.Select(v => Math.Clamp(MathF.Round(v * 32768f), -32768f, 32767f) / 32768f).ToArray();
        Same(expected, clip.Samples);
        Assert.Single(Directory.GetFiles(dir.Path));
    }

    [Fact]
    public void Real_fsdd_and_speech_commands_files_read_and_match_their_raw_pcm()
    {
        var fsdd = Directory.GetFiles(SharedAssets.Dataset("fsdd/recordings"), "*.wav").Order().Take(5).ToArray();
        var commands = Directory.GetFiles(SharedAssets.Dataset("speech_commands_subset"), "*.wav", SearchOption.AllDirectories).Order().Take(5).ToArray();
        Assert.Equal(5, fsdd.Length);
        Assert.Equal(5, commands.Length);
        foreach (var (path, rate) in fsdd.Select(p => (p, 8000)).Concat(commands.Select(p => (p, 16000))))
        {
            var clip = WavReader.Read(path);
            Assert.Equal(rate, clip.SampleRate);
            // Independent check: locate the "data" chunk naively and compare the int16 samples.
            var bytes = File.ReadAllBytes(path);
            var at = bytes.AsSpan().IndexOf("data"u8);
            var size = BinaryPrimitives.ReadInt32LittleEndian(bytes.AsSpan(at + 4));
            Assert.Equal(size / 2, clip.Samples.Length);
            for (var i = 0; i < clip.Samples.Length; i += 97)
                Assert.Equal(BinaryPrimitives.ReadInt16LittleEndian(bytes.AsSpan(at + 8 + 2 * i)) / 32768f, clip.Samples[i]);
            Assert.True(clip.Samples.Max(MathF.Abs) > 0.01f, $"{path} looks silent");
        }
    }
}
