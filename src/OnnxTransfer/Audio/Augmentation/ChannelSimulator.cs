using NWaves.Filters.Base;
using NWaves.Filters.BiQuad;
using NWaves.Operations;
using NWaves.Signals;

namespace OnnxTransfer.Audio.Augmentation;

/// <summary>
/// Passes audio through a microphone and transmission channel (<see cref="ChannelSettings"/>), in the order
/// sound meets them: microphone band (high-pass, low-pass), tilt, compressor, clipping, telephone line.
/// </summary>
internal static class ChannelSimulator
{
    /// <summary>Midpoint of the tilt shelves in Hz.</summary>
    public const double TiltHz = 1000;

    private const int TelephoneRate = 8000;
    private const double TelephoneLowHz = 300, TelephoneHighHz = 3400;
    private const double ButterworthQ2 = 0.7071067811865476;
    // Q of the two sections of a 4th-order Butterworth: 1 / (2·cos(π/8)) and 1 / (2·cos(3π/8)).
    private static readonly double[] ButterworthQ4 = [0.5411961001461969, 1.3065629648763766];

    /// <summary>
    /// <paramref name="x"/> through the channel: same length, no NaN, scaled down only if its peak would exceed 1.
    /// </summary>
    /// <exception cref="OnnxTransferException">A setting is out of range for <paramref name="sampleRate"/>.</exception>
    public static float[] Apply(ReadOnlySpan<float> x, ChannelSettings settings, int sampleRate = SpeechFrontEnd.SampleRate)
    {
        RoomSimulator.CheckRate(sampleRate);
        settings.Validate(sampleRate);
        var y = x.ToArray();
        for (var i = 0; i < y.Length; i++) if (!float.IsFinite(y[i])) y[i] = 0;
        var inputPeak = Signals.Peak(y);
        if (inputPeak == 0) return y;
        if (settings.HighPassHz is { } hp) Filter(y, new HighPassFilter(hp / sampleRate, ButterworthQ2));
        if (settings.LowPassHz is { } lp) LowPass4(y, lp / sampleRate);
        if (settings.TiltDb != 0) Tilt(y, settings.TiltDb, sampleRate);
        if (settings.Compressor is { } c) Compress(y, c, inputPeak, sampleRate);
        if (settings.Clip is { } clip) ClipAt(y, clip, inputPeak);
        if (settings.Telephone is { } phone) y = TelephoneLine(y, phone, sampleRate);
        var peak = Signals.Peak(y);
        if (peak > 1) Signals.Scale(y, 1 / peak);
        return y;
    }

    /// <summary>8-bit μ-law (G.711, μ = 255) encode and decode of one sample in [−1, 1].</summary>
    public static float MuLaw8(float x)
    {
        const double mu = 255;
        var magnitude = Math.Min(1, Math.Abs((double)x));
        var code = Math.Round(127 * Math.Log(1 + mu * magnitude) / Math.Log(1 + mu)); // 0..127 plus the sign bit
        return (float)(Math.Sign(x) * (Math.Pow(1 + mu, code / 127) - 1) / mu);
    }

    private static void Filter(float[] y, IOnlineFilter filter)
    {
        for (var i = 0; i < y.Length; i++) y[i] = filter.Process(y[i]);
    }

    private static void LowPass4(float[] y, double frequency)
    {
        foreach (var q in ButterworthQ4) Filter(y, new LowPassFilter(frequency, q));
    }

    private static void HighPass4(float[] y, double frequency)
    {
        foreach (var q in ButterworthQ4) Filter(y, new HighPassFilter(frequency, q));
    }

    private static void Tilt(float[] y, double tiltDb, int sampleRate)
    {
        Filter(y, new LowShelfFilter(TiltHz / sampleRate, ButterworthQ2, -tiltDb / 2));
        Filter(y, new HighShelfFilter(TiltHz / sampleRate, ButterworthQ2, tiltDb / 2));
    }

    private static void Compress(float[] y, Compression c, float inputPeak, int sampleRate)
    {
        var thresholdDb = 20 * Math.Log10(inputPeak) + c.ThresholdDb;
        var processor = new DynamicsProcessor(DynamicsMode.Compressor, sampleRate, (float)thresholdDb, (float)c.Ratio,
            0f, (float)c.AttackSeconds, (float)c.ReleaseSeconds, -120f);
        var output = processor.ApplyTo(new DiscreteSignal(sampleRate, y)).Samples;
        Array.Copy(output, y, y.Length);
    }

    private static void ClipAt(float[] y, Clipping clip, float inputPeak)
    {
        var level = (float)(clip.Level * inputPeak);
        for (var i = 0; i < y.Length; i++)
            y[i] = clip.Soft ? level * MathF.Tanh(y[i] / level) : Math.Clamp(y[i], -level, level);
    }

    /// <summary>Down to 8 kHz (the resampler's anti-alias filter removes everything above 3.6 kHz), band-pass, optional μ-law, and back.</summary>
    private static float[] TelephoneLine(float[] y, Telephone phone, int sampleRate)
    {
        var narrow = sampleRate == TelephoneRate ? y : Resampler.Resample(y, sampleRate, TelephoneRate);
        HighPass4(narrow, TelephoneLowHz / TelephoneRate);
        LowPass4(narrow, TelephoneHighHz / TelephoneRate);
        if (phone.MuLaw)
            for (var i = 0; i < narrow.Length; i++) narrow[i] = MuLaw8(narrow[i]);
        var wide = sampleRate == TelephoneRate ? narrow : Resampler.Resample(narrow, TelephoneRate, sampleRate);
        Array.Resize(ref wide, y.Length);
        return wide;
    }
}
