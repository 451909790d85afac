namespace OnnxTransfer.Tests.Audio.Augmentation;

/// <summary>Test signals and an independent level measurement (a direct DFT sum).</summary>
internal static class Tones
{
    public const int Rate = 16000;

    public static float[] Sine(double frequency, double seconds = 0.5, double amplitude = 0.5, int rate = Rate) =>
        Enumerable.Range(0, (int)(rate * seconds)).Select(i => (float)(amplitude * Math.Sin(2 * Math.PI * frequency * i / rate + 0.3))).ToArray();

    /// <summary>Amplitude of the <paramref name="frequency"/> component of <paramref name="x"/> (a whole number of cycles gives the exact value).</summary>
    public static double Amplitude(ReadOnlySpan<float> x, double frequency, int rate = Rate)
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

    /// <summary>Gain in dB of <paramref name="frequency"/> from input to output, over the second half (past filter transients).</summary>
    public static double GainDb(float[] input, float[] output, double frequency)
    {
        var half = input.Length / 2;
        return 20 * Math.Log10(Amplitude(output.AsSpan(half), frequency) / Amplitude(input.AsSpan(half), frequency));
    }

    public static double Rms(ReadOnlySpan<float> x)
    {
        double s = 0;
        foreach (var v in x) s += (double)v * v;
        return Math.Sqrt(s / x.Length);
    }

    public static float Peak(ReadOnlySpan<float> x)
    {
        var p = 0f;
        foreach (var v in x) p = Math.Max(p, Math.Abs(v));
        return p;
    }
}
