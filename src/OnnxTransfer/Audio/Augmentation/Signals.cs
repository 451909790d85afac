namespace OnnxTransfer.Audio.Augmentation;

/// <summary>Small sample-level helpers shared by the augmentation types.</summary>
internal static class Signals
{
    public static float Peak(ReadOnlySpan<float> x)
    {
        var peak = 0f;
        foreach (var v in x) peak = Math.Max(peak, Math.Abs(v));
        return peak;
    }

    public static double Rms(ReadOnlySpan<float> x)
    {
        if (x.IsEmpty) return 0;
        double sum = 0;
        foreach (var v in x) sum += v * (double)v;
        return Math.Sqrt(sum / x.Length);
    }

    public static void Scale(Span<float> x, double factor)
    {
        var f = (float)factor;
        for (var i = 0; i < x.Length; i++) x[i] *= f;
    }

    public static double Uniform(SeededRandom rng, double min, double max) => min + (max - min) * rng.NextDouble();
}
