using NWaves.Operations;
using NWaves.Signals;

namespace OnnxTransfer.Audio.Augmentation;

/// <summary>
/// Room acoustics for augmentation: impulse responses of shoebox rooms by the image-source method
/// (Allen &amp; Berkley 1979), Eyring's reverberation formula, Schroeder RT60 measurement and convolution.
/// </summary>
internal static class RoomSimulator
{
    /// <summary>Speed of sound in m/s (air at about 20 °C).</summary>
    public const double SpeedOfSound = 343;

    /// <summary>Longest impulse response in seconds; longer RT60s are cut here to bound time and memory.</summary>
    public const double MaxSeconds = 1.0;

    // Image sources model the early reflections for a tenth of the RT60 after the direct sound (20–80 ms);
    // the diffuse tail (see DiffuseTail) follows. Longer early parts let the specular images' too-slow decay
    // reach the T20 range (+30 % at RT60 0.15 s with 80 ms); shorter ones leave too few reflections to set the
    // tail's level. This also bounds the image count, about 4π(c·t)³/3V: 5 k in a 3 × 3 × 2.4 m room at 0.8 s.
    private const double EarlyFraction = 0.1, MinEarlySeconds = 0.02, MaxEarlySeconds = 0.08;

    /// <summary>Most absorbent wall <see cref="AbsorptionFor"/> will return (real materials stay below this).</summary>
    public const double MaxAbsorption = 0.99;

    // Eyring/Sabine constant 24·ln(10)/c = 0.1611 s/m, from the same c as the image delays so the two agree.
    private static readonly double EyringConstant = 24 * Math.Log(10) / SpeedOfSound;

    /// <summary>Eyring reverberation time in seconds: 0.161·V / (−S·ln(1 − α)).</summary>
    public static double Rt60(Room room) => EyringConstant * room.Volume / (-room.Surface * Math.Log(1 - room.Absorption));

    /// <summary>
    /// The wall absorption that gives a <paramref name="width"/> × <paramref name="depth"/> × <paramref name="height"/> m
    /// room the reverberation time <paramref name="rt60"/> (seconds) by Eyring's formula.
    /// </summary>
    /// <exception cref="OnnxTransferException">A size or the RT60 is not positive, or the RT60 needs absorption above <see cref="MaxAbsorption"/>.</exception>
    public static double AbsorptionFor(double width, double depth, double height, double rt60)
    {
        if (!(width > 0 && depth > 0 && height > 0 && double.IsFinite(width * depth * height)))
            throw new OnnxTransferException($"room {width} × {depth} × {height} m: every size must be positive and finite.");
        if (!(rt60 > 0 && double.IsFinite(rt60)))
            throw new OnnxTransferException($"RT60 {rt60} s: must be positive and finite (speech rooms are about 0.15–1 s).");
        var volume = width * depth * height;
        var surface = 2 * (width * depth + width * height + depth * height);
        var absorption = 1 - Math.Exp(-EyringConstant * volume / (surface * rt60));
        if (absorption > MaxAbsorption)
        {
            var shortest = EyringConstant * volume / (-surface * Math.Log(1 - MaxAbsorption));
            throw new OnnxTransferException(
                $"RT60 {rt60} s: too short for a {width} × {depth} × {height} m room (needs absorption above {MaxAbsorption}); ask for at least {shortest:0.###} s.");
        }
        if (absorption <= 0)
            throw new OnnxTransferException($"RT60 {rt60} s: too long to simulate; ask for at most a few seconds.");
        return absorption;
    }

    /// <summary>
    /// The room's impulse response from source to microphone, lasting <see cref="Rt60"/> seconds (at most
    /// <see cref="MaxSeconds"/>) past the direct sound, scaled so the direct path has amplitude 1: image
    /// sources for the early reflections (20–80 ms), then a diffuse tail decaying at the Eyring rate, its noise
    /// seeded by the room so the same room always gives the same response. Sample 0 is the moment the
    /// source emits, so the direct sound sits at <see cref="Room.Distance"/> / <see cref="SpeedOfSound"/> seconds.
    /// </summary>
    public static float[] ImpulseResponse(Room room, int sampleRate = SpeechFrontEnd.SampleRate)
    {
        CheckRate(sampleRate);
        var rt60 = Rt60(room);
        var direct = room.Distance / SpeedOfSound;
        var length = (int)Math.Ceiling((direct + Math.Min(rt60, MaxSeconds)) * sampleRate) + 1;
        var early = direct + Math.Clamp(EarlyFraction * rt60, MinEarlySeconds, MaxEarlySeconds);
        var ir = ImageSources.Render(room, sampleRate, early * SpeedOfSound, length);
        DiffuseTail.Add(ir, room, sampleRate, (int)(direct * sampleRate), (int)(early * sampleRate) + 1);
        return ir;
    }

    /// <summary>
    /// RT60 in seconds measured from an impulse response: Schroeder backward integration, a least-squares
    /// line through the −5 to −25 dB part of the decay (T20), extrapolated to 60 dB.
    /// </summary>
    /// <exception cref="OnnxTransferException">The response is silent or decays by less than 25 dB.</exception>
    public static double MeasureRt60(ReadOnlySpan<float> ir, int sampleRate = SpeechFrontEnd.SampleRate)
    {
        CheckRate(sampleRate);
        var level = SchroederDecayDb(ir);
        var start = Array.FindIndex(level, l => l <= -5);
        var end = Array.FindIndex(level, l => l <= -25);
        if (start < 0 || end < 0)
            throw new OnnxTransferException($"impulse response of {ir.Length} samples: decays by less than 25 dB, so T20 cannot be measured; pass a longer response.");
        var slope = Slope(level, start, end); // dB per sample
        return -60 / (slope * sampleRate);
    }

    /// <summary>
    /// <paramref name="dry"/> convolved with <paramref name="ir"/> (FFT convolution), length dry + ir − 1,
    /// scaled to the dry signal's peak so loudness stays comparable.
    /// </summary>
    public static float[] Reverberate(ReadOnlySpan<float> dry, ReadOnlySpan<float> ir)
    {
        if (ir.IsEmpty) throw new OnnxTransferException("impulse response: empty; pass one from RoomSimulator.ImpulseResponse.");
        if (dry.IsEmpty) return [];
        var wet = Operation.Convolve(new DiscreteSignal(1, dry.ToArray()), new DiscreteSignal(1, ir.ToArray())).Samples;
        if (wet.Length != dry.Length + ir.Length - 1) Array.Resize(ref wet, dry.Length + ir.Length - 1);
        var peakIn = Signals.Peak(dry);
        var peakOut = Signals.Peak(wet);
        if (peakOut > 0) Signals.Scale(wet, peakIn / peakOut);
        return wet;
    }

    /// <summary>
    /// A random room within <paramref name="ranges"/> (defaults: 3–10 × 3–10 × 2.4–4 m, RT60 0.15–0.8 s, talker
    /// 0.3–4 m from the microphone), every draw from <paramref name="rng"/>.
    /// </summary>
    public static Room Random(SeededRandom rng, RoomRanges? ranges = null) => (ranges ?? new RoomRanges()).Draw(rng);

    internal static double[] SchroederDecayDb(ReadOnlySpan<float> ir)
    {
        var level = new double[ir.Length];
        double energy = 0;
        for (var i = ir.Length - 1; i >= 0; i--)
        {
            energy += ir[i] * (double)ir[i];
            level[i] = energy;
        }
        if (!(energy > 0)) throw new OnnxTransferException("impulse response: silent; RT60 cannot be measured.");
        for (var i = 0; i < level.Length; i++) level[i] = level[i] > 0 ? 10 * Math.Log10(level[i] / energy) : double.NegativeInfinity;
        return level;
    }

    private static double Slope(double[] y, int start, int end)
    {
        double n = end - start + 1, sx = 0, sy = 0, sxx = 0, sxy = 0;
        for (var i = start; i <= end; i++)
        {
            sx += i; sy += y[i]; sxx += (double)i * i; sxy += i * y[i];
        }
        return (n * sxy - sx * sy) / (n * sxx - sx * sx);
    }

    internal static void CheckRate(int sampleRate)
    {
        if (sampleRate < 1000 || sampleRate > 384000)
            throw new OnnxTransferException($"sample rate {sampleRate} Hz: must be between 1000 and 384000 Hz (speech uses {SpeechFrontEnd.SampleRate}).");
    }
}
