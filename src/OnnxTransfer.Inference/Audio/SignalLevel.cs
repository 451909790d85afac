namespace OnnxTransfer.Audio;

/// <summary>Levels of sample buffers: power, peak, and where the speech is (synthesizers pad it with silence).</summary>
internal static class SignalLevel
{
    /// <summary>Mean of the squared samples (0 for none).</summary>
    public static double MeanSquare(ReadOnlySpan<float> x)
    {
        if (x.IsEmpty) return 0;
        double sum = 0;
        foreach (var v in x) sum += v * (double)v;
        return sum / x.Length;
    }

    /// <summary>Largest absolute sample.</summary>
    public static float Peak(ReadOnlySpan<float> x)
    {
        var peak = 0f;
        foreach (var v in x) peak = Math.Max(peak, Math.Abs(v));
        return peak;
    }

    /// <summary>Multiplies every sample by <paramref name="factor"/>.</summary>
    public static void Scale(Span<float> x, float factor)
    {
        for (var i = 0; i < x.Length; i++) x[i] *= factor;
    }

    /// <summary>Scales <paramref name="x"/> so its peak sits at <paramref name="peakDb"/> dBFS (silence stays silent).</summary>
    public static void NormalizePeak(Span<float> x, double peakDb)
    {
        var peak = Peak(x);
        if (peak > 0) Scale(x, (float)(Math.Pow(10, peakDb / 20) / peak));
    }

    /// <summary>
    /// The span of <paramref name="samples"/> (16 kHz) between the first and last 10 ms frame whose power is within
    /// <paramref name="thresholdDb"/> of the loudest frame.
    /// </summary>
    public static (int Start, int Length) SpeechSpan(ReadOnlySpan<float> samples, double thresholdDb = -40)
    {
        const int frame = SpeechFrontEnd.SampleRate / 100;
        var frames = (samples.Length + frame - 1) / frame;
        if (frames == 0) return (0, 0);
        var energy = new double[frames];
        for (var f = 0; f < frames; f++)
            energy[f] = MeanSquare(samples.Slice(f * frame, Math.Min(frame, samples.Length - f * frame)));
        var max = energy.Max();
        if (max <= 0) return (0, 0);
        var floor = max * Math.Pow(10, thresholdDb / 10);
        var first = Array.FindIndex(energy, e => e >= floor);
        var last = Array.FindLastIndex(energy, e => e >= floor);
        var start = first * frame;
        var stop = Math.Min(samples.Length, (last + 1) * frame);
        return (start, stop - start);
    }

    /// <summary><paramref name="samples"/> without leading and trailing silence (see <see cref="SpeechSpan"/>).</summary>
    public static float[] TrimSilence(ReadOnlySpan<float> samples, double thresholdDb = -40)
    {
        var (start, length) = SpeechSpan(samples, thresholdDb);
        return samples.Slice(start, length).ToArray();
    }
}
