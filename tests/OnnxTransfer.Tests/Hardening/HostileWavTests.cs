using System.Diagnostics;
using OnnxTransfer.Audio;
using OnnxTransfer.Tests.Audio;

namespace OnnxTransfer.Tests.Hardening;

/// <summary>Hostile or broken WAV files: each is refused with one line naming the file (fast, no hang, no huge allocation) or read correctly.</summary>
public class HostileWavTests
{
    private static readonly byte[] Pcm = TestWav.Int16(0, 1000, -1000, 32767);

    public static TheoryData<string, string> Refused => new()
    {
        { "zero bytes", "empty" },
        { "ten bytes", "too short" },
        { "mp3 named wav", "MP3" },
        { "riff avi", "not WAVE" },
        { "big-endian rifx", "RIFX" },
        { "data chunk larger than the file", "truncated" },
        { "huge declared data size", "truncated" },
        { "zero channels", "0 channels" },
        { "zero sample rate", "sample rate" },
        { "absurd sample rate", "sample rate" },
        { "a-law", "A-law" },
        { "mu-law", "mu-law" },
        { "adpcm", "ADPCM" },
        { "no data chunk", "no data chunk" },
        { "no fmt chunk", "no fmt chunk" },
        { "fmt chunk too short", "too short" },
        { "garbage chunk header", "damaged" },
        { "block align not a multiple of channels", "inconsistent" },
        { "12-bit in 1-byte container", "not supported" },
        { "folder named wav", "folder" },
    };

    private static byte[] Build(string kind) => kind switch
    {
        "zero bytes" => [],
        "ten bytes" => "RIFF\0\0\0\0WA"u8.ToArray(),
        "mp3 named wav" => [.. "ID3\u0003\0\0\0\0\0\0"u8.ToArray(), .. new byte[20]],
        "riff avi" => new TestWav { FormType = "AVI " }.Fmt(1, 1, 16000, 16).Data(Pcm).ToBytes(),
        "big-endian rifx" => new TestWav { RiffId = "RIFX" }.Fmt(1, 1, 16000, 16).Data(Pcm).ToBytes(),
        "data chunk larger than the file" => new TestWav().Fmt(1, 1, 16000, 16).Data(Pcm, 4000).ToBytes(),
        "huge declared data size" => new TestWav().Fmt(1, 1, 16000, 16).Data(Pcm, 0xFFFFFFF0).ToBytes(),
        "zero channels" => new TestWav().Fmt(1, 0, 16000, 16, blockAlign: 2).Data(Pcm).ToBytes(),
        "zero sample rate" => new TestWav().Fmt(1, 1, 0, 16).Data(Pcm).ToBytes(),
        "absurd sample rate" => new TestWav().Fmt(1, 1, 50_000_000, 16).Data(Pcm).ToBytes(),
        "a-law" => new TestWav().Fmt(6, 1, 8000, 8).Data(Pcm).ToBytes(),
        "mu-law" => new TestWav().Fmt(7, 1, 8000, 8).Data(Pcm).ToBytes(),
        "adpcm" => new TestWav().Fmt(2, 1, 8000, 4, blockAlign: 256).Data(Pcm).ToBytes(),
        "no data chunk" => new TestWav().Fmt(1, 1, 16000, 16).ToBytes(),
        "no fmt chunk" => new TestWav().Data(Pcm).ToBytes(),
        "fmt chunk too short" => new TestWav().Chunk("fmt ", new byte[8]).Data(Pcm).ToBytes(),
        "garbage chunk header" => new TestWav().Chunk("\u0001\u0002\u0003\u0004", new byte[4]).Fmt(1, 1, 16000, 16).Data(Pcm).ToBytes(),
        "block align not a multiple of channels" => new TestWav().Fmt(1, 2, 16000, 16, blockAlign: 3).Data(Pcm).ToBytes(),
        "12-bit in 1-byte container" => new TestWav().Fmt(1, 1, 16000, 12, blockAlign: 1).Data(Pcm).ToBytes(),
        _ => throw new ArgumentException(kind),
    };

    [Theory]
    [MemberData(nameof(Refused))]
    public void A_broken_wav_is_refused_with_one_line_naming_it(string kind, string reason)
    {
        using var dir = new TempDir();
        var path = dir.File("clip.wav");
        if (kind == "folder named wav") Directory.CreateDirectory(path);
        else File.WriteAllBytes(path, Build(kind));
        HostileInputs.RefusedQuickly(() => WavReader.Read(path), path, reason);
    }

    [Fact]
    public async Task A_fifo_named_wav_is_refused_at_once_instead_of_blocking()
    {
        using var dir = new TempDir();
        var path = dir.File("pipe.wav");
        HostileInputs.Fifo(path);
        var read = Task.Run(() => Assert.ThrowsAny<OnnxTransferException>(() => WavReader.Read(path)));
        Assert.Same(read, await Task.WhenAny(read, Task.Delay(TimeSpan.FromSeconds(10))));
        Assert.Contains("not a regular file", (await read).Message);
    }

    public static TheoryData<string> ReadCorrectly => new()
    {
        "24-bit pcm", "riff size lying (too large)", "riff size zero (streaming)", "odd-sized chunk before the data", "stereo float",
    };

    [Theory]
    [MemberData(nameof(ReadCorrectly))]
    public void An_unusual_but_valid_wav_is_read_correctly(string kind)
    {
        using var dir = new TempDir();
        var path = dir.File("clip.wav");
        var (bytes, expected) = kind switch
        {
            "24-bit pcm" => (new TestWav().Fmt(1, 1, 16000, 24).Data(TestWav.Int24(0, 4194304, -8388608)).ToBytes(), new[] { 0f, 0.5f, -1f }),
            "riff size lying (too large)" => (new TestWav { RiffSizeOverride = 0x7FFFFFF0 }.Fmt(1, 1, 16000, 16).Data(TestWav.Int16(16384)).ToBytes(), [0.5f]),
            "riff size zero (streaming)" => (new TestWav { RiffSizeOverride = 0 }.Fmt(1, 1, 16000, 16).Data(TestWav.Int16(-16384)).ToBytes(), [-0.5f]),
            "odd-sized chunk before the data" => (new TestWav().Chunk("LIST", new byte[3]).Fmt(1, 1, 16000, 16).Data(TestWav.Int16(8192)).ToBytes(), [0.25f]),
            "stereo float" => (new TestWav().Fmt(3, 2, 16000, 32).Data(TestWav.Float32(1f, 0f, 0.5f, 0.5f)).ToBytes(), [0.5f, 0.5f]),
            _ => throw new ArgumentException(kind),
        };
        File.WriteAllBytes(path, bytes);
        var clip = WavReader.Read(path);
        Assert.Equal(expected, clip.Samples);
        Assert.Equal(16000, clip.SampleRate);
    }
}
