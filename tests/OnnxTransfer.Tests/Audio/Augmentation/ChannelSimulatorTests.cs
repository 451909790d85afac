using OnnxTransfer.Audio.Augmentation;
using OnnxTransfer.Training.Engine;

namespace OnnxTransfer.Tests.Audio.Augmentation;

public class ChannelSimulatorTests
{
    private static double Gain(double frequency, ChannelSettings settings)
    {
        var x = Tones.Sine(frequency);
        return Tones.GainDb(x, ChannelSimulator.Apply(x, settings), frequency);
    }

    [Fact]
    public void Default_settings_change_nothing()
    {
        var x = Tones.Sine(440);
        Assert.Equal(x, ChannelSimulator.Apply(x, new ChannelSettings()));
    }

    [Fact]
    public void High_pass_cuts_low_hum_and_keeps_speech()
    {
        var settings = new ChannelSettings { HighPassHz = 300 };
        Assert.True(Gain(100, settings) <= -10, $"100 Hz: {Gain(100, settings):0.0} dB");
        Assert.InRange(Gain(1000, settings), -1, 1);
    }

    [Fact]
    public void Low_pass_cuts_the_treble()
    {
        var settings = new ChannelSettings { LowPassHz = 3000 };
        Assert.True(Gain(7000, settings) <= -20, $"7 kHz: {Gain(7000, settings):0.0} dB");
        Assert.InRange(Gain(500, settings), -1, 1);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Telephone_passes_the_voice_band_only(bool muLaw)
    {
        var settings = new ChannelSettings { Telephone = new Telephone(muLaw) };
        Assert.True(Gain(6000, settings) <= -20, $"6 kHz: {Gain(6000, settings):0.0} dB");
        Assert.True(Gain(100, settings) <= -20, $"100 Hz: {Gain(100, settings):0.0} dB");
        Assert.InRange(Gain(1000, settings), -3, 3);
    }

    [Theory]
    [InlineData(6.0)]
    [InlineData(-6.0)]
    public void Tilt_raises_treble_against_bass(double tiltDb)
    {
        var settings = new ChannelSettings { TiltDb = tiltDb };
        // Two octaves from the 1 kHz shelves each side is close to the full half-tilt.
        Assert.InRange(Gain(4000, settings) - Gain(250, settings), tiltDb - 1.5, tiltDb + 1.5);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Clipping_bounds_the_peak_at_the_clip_level(bool soft)
    {
        var x = Tones.Sine(300, amplitude: 0.8);
        var level = 0.5f * Tones.Peak(x); // the level is a fraction of the input's peak
        var y = ChannelSimulator.Apply(x, new ChannelSettings { Clip = new Clipping(0.5, soft) });
        Assert.True(Tones.Peak(y) <= level + 1e-6f, $"peak {Tones.Peak(y)} above {level}");
        Assert.True(Tones.Peak(y) >= (soft ? 0.75f * level : level - 1e-6f), $"peak {Tones.Peak(y)}: clipped too deep");
    }

    [Fact]
    public void Compression_narrows_the_loud_quiet_range()
    {
        // 125 ms alternately loud (0.9) and quiet (0.05), 25 dB apart.
        const int segment = 2000;
        var x = Tones.Sine(440, seconds: 1, amplitude: 1);
        for (var i = 0; i < x.Length; i++) x[i] *= i / segment % 2 == 0 ? 0.9f : 0.05f;
        // The loud part's envelope sits about 16 dB over a −20 dB threshold: ratio 6 takes about 13 dB off it.
        var y = ChannelSimulator.Apply(x, new ChannelSettings { Compressor = new Compression(-20, 6) });
        double Range(float[] s) => 20 * Math.Log10(Tones.Rms(s.AsSpan(2 * segment + 500, 1500)) / Tones.Rms(s.AsSpan(3 * segment + 500, 1500)));
        Assert.True(Range(y) <= Range(x) - 8, $"range {Range(x):0.0} dB -> {Range(y):0.0} dB");
        Assert.True(Tones.Peak(y) <= Tones.Peak(x));
    }

    [Fact]
    public void Random_channels_keep_length_finite_and_bounded()
    {
        var rng = new SeededRandom(9);
        var noise = Enumerable.Range(0, 4000).Select(_ => (float)Math.Clamp(rng.NextGaussian() * 0.3, -1, 1)).ToArray();
        noise[17] = float.NaN;
        noise[18] = 1;
        for (var i = 0; i < 40; i++)
        {
            var y = ChannelSimulator.Apply(noise, ChannelSettings.Random(rng));
            Assert.Equal(noise.Length, y.Length);
            Assert.All(y, v => Assert.True(float.IsFinite(v)));
            Assert.True(Tones.Peak(y) <= 1f);
        }
        Assert.Equal(new float[5], ChannelSimulator.Apply(new float[5], ChannelSettings.Random(rng)));
        Assert.Empty(ChannelSimulator.Apply([], ChannelSettings.Random(rng)));
    }

    [Fact]
    public void Random_settings_are_reproducible_with_the_documented_odds()
    {
        var a = new SeededRandom(21);
        var b = new SeededRandom(21);
        var all = Enumerable.Range(0, 3000).Select(_ => ChannelSettings.Random(a)).ToArray();
        Assert.Equal(all, Enumerable.Range(0, 3000).Select(_ => ChannelSettings.Random(b)));
        Assert.InRange(all.Count(s => s.Telephone is not null) / 3000.0, 0.08, 0.12);
        Assert.InRange(all.Count(s => s.Clip is not null) / 3000.0, 0.08, 0.12);
        Assert.InRange(all.Count(s => s.Compressor is not null) / 3000.0, 0.27, 0.33);
        Assert.All(all, s => Assert.InRange(s.HighPassHz!.Value, 50, 400));
        Assert.All(all, s => Assert.InRange(s.TiltDb, -6, 6));
    }

    [Fact]
    public void Out_of_range_settings_are_refused()
    {
        var x = Tones.Sine(440);
        var e = Assert.Throws<OnnxTransferException>(() => ChannelSimulator.Apply(x, new ChannelSettings { LowPassHz = 9000 }));
        Assert.Contains("low-pass 9000 Hz", e.Message);
        e = Assert.Throws<OnnxTransferException>(() => ChannelSimulator.Apply(x, new ChannelSettings { Clip = new Clipping(0) }));
        Assert.Contains("clip level 0", e.Message);
        e = Assert.Throws<OnnxTransferException>(() => ChannelSimulator.Apply(x, new ChannelSettings { Compressor = new Compression(-10, 0.5) }));
        Assert.Contains("ratio", e.Message);
    }

    [Fact]
    public void Mu_law_keeps_8_bit_precision_relative_to_level()
    {
        Assert.Equal(0f, ChannelSimulator.MuLaw8(0));
        Assert.Equal(1f, ChannelSimulator.MuLaw8(1), 6);
        Assert.Equal(-1f, ChannelSimulator.MuLaw8(-1), 6);
        for (var x = 0.01; x < 1; x *= 1.1)
        {
            // Log coding: one step of 1/127 in ln(1 + 255x)/ln 256 is at most about 4.5 % of the level (plus a floor near 0).
            Assert.InRange(ChannelSimulator.MuLaw8((float)x), x * 0.955 - 2e-4, x * 1.045 + 2e-4);
            Assert.Equal(-ChannelSimulator.MuLaw8((float)x), ChannelSimulator.MuLaw8((float)-x));
        }
    }
}
