using OnnxTransfer.Audio;

namespace OnnxTransfer.Tests.Audio;

public class ResamplerTests
{
    private static float[] Sine(double frequency, int rate, double seconds, double amplitude = 0.5)
    {
        var n = (int)(rate * seconds);
        return Enumerable.Range(0, n).Select(i => (float)(amplitude * Math.Sin(2 * Math.PI * frequency * i / rate + 0.3))).ToArray();
    }

    private static double Rms(ReadOnlySpan<float> x)
    {
        double s = 0;
        foreach (var v in x) s += (double)v * v;
        return Math.Sqrt(s / x.Length);
    }

    /// <summary>Magnitude of the DFT of <paramref name="x"/> at <paramref name="frequency"/> (direct sum, amplitude-normalised).</summary>
    private static double Amplitude(ReadOnlySpan<float> x, double frequency, int rate)
    {
        double re = 0, im = 0;
        for (var i = 0; i < x.Length; i++)
        {
            var phase = 2 * Math.PI * frequency * i / rate;
            re += x[i] * Math.Cos(phase);
            im += x[i] * Math.Sin(phase);
        }
        return 2 * Math.Sqrt(re * re + im * im) / x.Length;
    }

    // Edges see the zero padding outside the signal; measure the interior.
    private static ReadOnlySpan<float> Interior(float[] x, int margin) => x.AsSpan(margin, x.Length - 2 * margin);

    [Theory]
    [InlineData(8000, 16000, 440.0)]
    [InlineData(8000, 16000, 3000.0)]
    [InlineData(44100, 16000, 1000.0)]
    [InlineData(44100, 16000, 6000.0)]
    [InlineData(48000, 16000, 2500.0)]
    [InlineData(22050, 16000, 1234.5)]
    [InlineData(44056, 16000, 1000.0)]   // reduced ratio 4000/11014: interpolated phase table
    [InlineData(16000, 44100, 5000.0)]
    public void A_sine_keeps_its_frequency_and_amplitude(int from, int to, double frequency)
    {
        var input = Sine(frequency, from, 0.5);
        var output = Resampler.Resample(input, from, to);
        Assert.Equal((long)Math.Ceiling(input.Length * (double)to / from), output.Length);
        var body = Interior(output, to / 50);
        // Amplitude: RMS within 1% of the input's.
        var ratio = Rms(body) / Rms(Interior(input, from / 50));
        Assert.InRange(ratio, 0.99, 1.01);
        // Frequency: the energy sits in the tone's bin, not 3% either side.
        var at = Amplitude(body, frequency, to);
        Assert.InRange(at, 0.49, 0.51);
        Assert.True(Amplitude(body, frequency * 0.97, to) < 0.1 * at);
        Assert.True(Amplitude(body, frequency * 1.03, to) < 0.1 * at);
        // And sample-by-sample it is the same continuous sine (phase kept: output n sits at input time n·from/to).
        var expected = Sine(frequency, to, (double)output.Length / to + 1);
        var margin = to / 50;
        var maxError = 0.0;
        for (var n = margin; n < output.Length - margin; n++) maxError = Math.Max(maxError, Math.Abs(output[n] - expected[n]));
        Assert.True(maxError < 0.005, $"max deviation from the ideal sine {maxError}");
    }

    [Theory]
    [InlineData(44100, 10000.0)]
    [InlineData(44100, 8200.0)]
    [InlineData(48000, 12000.0)]
    [InlineData(22050, 9000.0)]
    public void Content_above_the_new_nyquist_is_attenuated_by_60_db(int from, double frequency)
    {
        var input = Sine(frequency, from, 0.5);
        var output = Resampler.Resample(input, from, 16000);
        var attenuationDb = 20 * Math.Log10(Rms(Interior(output, 320)) / Rms(input));
        Assert.True(attenuationDb <= -60, $"{frequency} Hz at {from} Hz leaks at {attenuationDb:F1} dB");
    }

    [Fact]
    public void Constant_signal_stays_constant_and_same_rate_is_a_copy()
    {
        var dc = Enumerable.Repeat(0.25f, 4410).ToArray();
        var output = Resampler.Resample(dc, 44100, 16000);
        foreach (var v in Interior(output, 100)) Assert.InRange(v, 0.2499f, 0.2501f);
        var same = Resampler.Resample(dc, 16000, 16000);
        Assert.Equal(dc, same);
        Assert.NotSame(dc, same);
        Assert.Same(Resampler.For(8000, 16000), Resampler.For(8000, 16000));
    }

    [Fact]
    public void Upsampling_by_two_passes_the_original_samples_through()
    {
        // With 8k -> 16k, even outputs sit exactly on input samples; a band-limited input (well inside the passband) reproduces them.
        var input = Sine(700, 8000, 0.25);
        var output = Resampler.Resample(input, 8000, 16000);
        for (var i = 100; i < input.Length - 100; i++) Assert.True(Math.Abs(output[2 * i] - input[i]) < 1e-3, $"sample {i}");
    }

    [Fact]
    public void A_44_1_khz_wav_file_reads_and_resamples_to_16_khz()
    {
        using var dir = new TempDir();
        var path = dir.File("tone44k.wav");
        WavWriter.Write(path, Sine(1500, 44100, 1.0), 44100);
        var clip = WavReader.Read(path);
        Assert.Equal(44100, clip.SampleRate);
        var resampled = clip.ResampleTo(16000);
        Assert.Equal(16000, resampled.SampleRate);
        Assert.Equal(16000, resampled.Samples.Length);
        Assert.Same(resampled, resampled.ResampleTo(16000));
        var body = Interior(resampled.Samples, 320);
        Assert.InRange(Amplitude(body, 1500, 16000), 0.49, 0.51);
        Assert.InRange(Rms(body), 0.5 / Math.Sqrt(2) * 0.99, 0.5 / Math.Sqrt(2) * 1.01);
    }

    [Fact]
    public void Empty_input_and_bad_rates()
    {
        Assert.Empty(Resampler.Resample([], 44100, 16000));
        Assert.Throws<OnnxTransferException>(() => new Resampler(0, 16000));
    }
}
