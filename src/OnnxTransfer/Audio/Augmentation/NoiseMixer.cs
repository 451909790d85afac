
namespace OnnxTransfer.Audio.Augmentation;

/// <summary>Synthetic background noises and mixing at a signal-to-noise ratio.</summary>
internal static class NoiseMixer
{
    /// <summary>
    /// Adds <paramref name="noise"/> to <paramref name="signal"/> scaled so that
    /// 10·log10(<paramref name="signalPower"/> / mean square of the scaled noise) = <paramref name="snrDb"/>.
    /// Returns the scale applied (0 for silent noise).
    /// </summary>
    public static double MixAtSnr(Span<float> signal, ReadOnlySpan<float> noise, double signalPower, double snrDb)
    {
        if (noise.Length < signal.Length) throw new ArgumentException("noise is shorter than the signal", nameof(noise));
        var noisePower = SignalLevel.MeanSquare(noise[..signal.Length]);
        if (noisePower <= 0) return 0;
        var scale = Math.Sqrt(signalPower / (noisePower * Math.Pow(10, snrDb / 10)));
        for (var i = 0; i < signal.Length; i++) signal[i] += (float)(noise[i] * scale);
        return scale;
    }

    /// <summary>Unit-variance white Gaussian noise.</summary>
    public static float[] White(int length, SeededRandom rng)
    {
        var x = new float[length];
        for (var i = 0; i < length; i++) x[i] = (float)rng.NextGaussian();
        return x;
    }

    /// <summary>Pink (1/f) noise from white noise through Paul Kellet's economy filter, scaled to unit RMS.</summary>
    public static float[] Pink(int length, SeededRandom rng)
    {
        var x = new float[length];
        double b0 = 0, b1 = 0, b2 = 0;
        for (var i = 0; i < length; i++)
        {
            var w = rng.NextGaussian();
            b0 = 0.99765 * b0 + w * 0.0990460;
            b1 = 0.96300 * b1 + w * 0.2965164;
            b2 = 0.57000 * b2 + w * 1.0526913;
            x[i] = (float)(b0 + b1 + b2 + w * 0.1848);
        }
        return UnitRms(x);
    }

    /// <summary>Brown (1/f²) noise: leaky integrated white noise (rumble, traffic, fans), scaled to unit RMS.</summary>
    public static float[] Brown(int length, SeededRandom rng)
    {
        var x = new float[length];
        double y = 0;
        for (var i = 0; i < length; i++)
        {
            y = 0.995 * y + 0.1 * rng.NextGaussian();
            x[i] = (float)y;
        }
        return UnitRms(x);
    }

    /// <summary>A mains hum: 50 or 60 Hz with a few decaying harmonics, unit RMS.</summary>
    public static float[] Hum(int length, SeededRandom rng, int sampleRate = SpeechFrontEnd.SampleRate)
    {
        var f0 = rng.NextDouble() < 0.5 ? 50.0 : 60.0;
        var phase = rng.NextDouble() * 2 * Math.PI;
        var x = new float[length];
        for (var i = 0; i < length; i++)
        {
            double v = 0;
            for (var h = 1; h <= 5; h++) v += Math.Sin(2 * Math.PI * f0 * h * i / sampleRate + phase * h) / h;
            x[i] = (float)v;
        }
        return UnitRms(x);
    }

    private static float[] UnitRms(float[] x)
    {
        var rms = Math.Sqrt(SignalLevel.MeanSquare(x));
        if (rms > 0) SignalLevel.Scale(x, (float)(1 / rms));
        return x;
    }
}
