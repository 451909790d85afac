using OnnxTransfer.Audio;

namespace OnnxTransfer.Tests.Audio;

public class AudioClipTests
{
    [Fact]
    public void Concatenate_resamples_each_part_and_reports_where_it_starts()
    {
        var a = new AudioClip(Enumerable.Range(0, 1600).Select(i => MathF.Sin(i * 0.05f) * 0.5f).ToArray(), 16000);
        var b = new AudioClip(Enumerable.Range(0, 800).Select(i => MathF.Cos(i * 0.03f) * 0.25f).ToArray(), 8000);
        var c = new AudioClip([0.1f, -0.1f, 0.2f], 16000);
        var (joined, starts) = AudioClip.Concatenate([a, b, c], 16000);

        var bAt16k = b.ResampleTo(16000).Samples;
        Assert.Equal(16000, joined.SampleRate);
        Assert.Equal(1600 + bAt16k.Length + 3, joined.Samples.Length);
        Assert.Equal([0.0, 0.1, (1600 + bAt16k.Length) / 16000.0], starts);
        Assert.Equal(a.Samples, joined.Samples[..1600]);
        Assert.Equal(bAt16k, joined.Samples[1600..^3]);
        Assert.Equal(c.Samples, joined.Samples[^3..]);
        // 0.1 s at 8 kHz stays ~0.1 s at 16 kHz.
        Assert.InRange(bAt16k.Length, 1590, 1610);
    }
}
