using System.Numerics.Tensors;

namespace OnnxTransfer.Audio.Augmentation;

/// <summary>
/// A voice change that multiplies one (synthetic) speaker into many: f0 × <see cref="PitchRatio"/>,
/// formants (vocal-tract length) × <see cref="FormantRatio"/>, speaking rate × <see cref="TempoRatio"/>,
/// each independent of the others. Ratios are validated on construction (see the Min/Max constants).
/// </summary>
/// <remarks>
/// One pass, three stages on the same samples: (1) formant warp by FormantRatio / PitchRatio (LPC envelope
/// over an STFT), (2) WSOLA time stretch by PitchRatio / TempoRatio, (3) band-limited resampling that plays the
/// result PitchRatio times faster. Stage 3 moves harmonics and envelope up by PitchRatio and divides the
/// duration by it, so in total f0 × PitchRatio, envelope × FormantRatio, duration ÷ TempoRatio. The
/// resampling ratio is rounded to a multiple of 1/200 (≤ 0.25 % pitch error near 1) so converters are few
/// and cached; stages 1-2 use the rounded value, so formants and duration stay exact.
/// Output: round(N / TempoRatio) samples, 4 ms raised-cosine fades at both ends, peak equal to the input's.
/// </remarks>
internal sealed record VoiceTransform(double PitchRatio = 1, double FormantRatio = 1, double TempoRatio = 1)
{
    /// <summary>Allowed pitch ratios (an octave either way).</summary>
    public const double MinPitchRatio = 0.5, MaxPitchRatio = 2;

    /// <summary>Allowed formant ratios: about the adult-to-child vocal-tract range; beyond it speech stops sounding human.</summary>
    public const double MinFormantRatio = 0.7, MaxFormantRatio = 1.4;

    /// <summary>Allowed tempo ratios (half to double speed).</summary>
    public const double MinTempoRatio = 0.5, MaxTempoRatio = 2;

    private const int PitchSteps = 200;       // resampling ratio = from / PitchSteps
    private const double FadeSeconds = 0.004;

    /// <summary>f0 multiplier; formants and duration are kept.</summary>
    public double PitchRatio { get; init => field = Check(value, nameof(PitchRatio), MinPitchRatio, MaxPitchRatio); }
        = Check(PitchRatio, nameof(PitchRatio), MinPitchRatio, MaxPitchRatio);

    /// <summary>Spectral-envelope (formant) frequency multiplier; f0 and duration are kept.</summary>
    public double FormantRatio { get; init => field = Check(value, nameof(FormantRatio), MinFormantRatio, MaxFormantRatio); }
        = Check(FormantRatio, nameof(FormantRatio), MinFormantRatio, MaxFormantRatio);

    /// <summary>Speaking-rate multiplier: the output lasts 1/TempoRatio as long; pitch and formants are kept.</summary>
    public double TempoRatio { get; init => field = Check(value, nameof(TempoRatio), MinTempoRatio, MaxTempoRatio); }
        = Check(TempoRatio, nameof(TempoRatio), MinTempoRatio, MaxTempoRatio);

    /// <summary>The transform that changes nothing.</summary>
    public static VoiceTransform Identity { get; } = new();

    /// <summary>True when all three ratios are 1 (<see cref="Apply"/> then returns a copy).</summary>
    public bool IsIdentity => PitchRatio == 1 && FormantRatio == 1 && TempoRatio == 1;

    /// <summary>
    /// Draws each ratio log-uniformly (so 0.8 and 1.25 are equally likely) from <paramref name="ranges"/>
    /// (default <see cref="VoiceTransformRanges.Default"/>), in the order pitch, formant, tempo.
    /// </summary>
    public static VoiceTransform Random(SeededRandom rng, VoiceTransformRanges? ranges = null)
    {
        ArgumentNullException.ThrowIfNull(rng);
        var r = ranges ?? VoiceTransformRanges.Default;
        r.Validate();
        var pitch = LogUniform(rng, r.MinPitch, r.MaxPitch);
        var formant = LogUniform(rng, r.MinFormant, r.MaxFormant);
        var tempo = LogUniform(rng, r.MinTempo, r.MaxTempo);
        return new VoiceTransform(pitch, formant, tempo);
    }

    /// <summary>
    /// Transforms mono <paramref name="samples"/> at <paramref name="sampleRate"/> Hz; returns
    /// round(N / <see cref="TempoRatio"/>) samples with the input's peak level.
    /// </summary>
    public float[] Apply(ReadOnlySpan<float> samples, int sampleRate = 16000)
    {
        if (sampleRate < 8000)
            throw new OnnxTransferException($"sample rate {sampleRate} Hz is too low for a voice transform; use 8000 Hz or more.");
        if (samples.Length == 0 || IsIdentity) return samples.ToArray();
        for (var i = 0; i < samples.Length; i++)
            if (!float.IsFinite(samples[i]))
                throw new OnnxTransferException($"sample {i} is {samples[i]}; voice transforms need finite audio (clean or drop the clip).");

        var outLength = (int)Math.Round(samples.Length / TempoRatio);
        var from = (int)Math.Round(PitchRatio * PitchSteps);
        var pitch = (double)from / PitchSteps;

        var x = samples.ToArray();
        var warp = FormantRatio / pitch;
        if (Math.Abs(warp - 1) > 1e-4) x = FormantShift.Apply(x, warp, sampleRate);
        var stretch = pitch / TempoRatio;
        if (Math.Abs(stretch - 1) > 1e-4) x = TimeStretch.Apply(x, stretch, sampleRate);
        if (from != PitchSteps) x = Resampler.For(from, PitchSteps).Process(x); // output n ← input time n·pitch

        var y = new float[outLength];
        x.AsSpan(0, Math.Min(x.Length, outLength)).CopyTo(y);
        Fade(y, (int)Math.Round(FadeSeconds * sampleRate));

        // MaxMagnitude returns the signed sample of largest magnitude.
        var peakIn = Math.Abs(TensorPrimitives.MaxMagnitude(samples));
        var peakOut = y.Length == 0 ? 0 : Math.Abs(TensorPrimitives.MaxMagnitude(y));
        if (peakOut > 0 && float.IsFinite(peakOut)) TensorPrimitives.Multiply(y, peakIn / peakOut, y);
        return y;
    }

    private static void Fade(Span<float> y, int length)
    {
        length = Math.Min(length, y.Length / 2);
        for (var i = 0; i < length; i++)
        {
            var g = (float)(0.5 - 0.5 * Math.Cos(Math.PI * (i + 0.5) / length));
            y[i] *= g;
            y[^(i + 1)] *= g;
        }
    }

    private static double LogUniform(SeededRandom rng, double min, double max) =>
        min == max ? min : Math.Exp(Math.Log(min) + rng.NextDouble() * (Math.Log(max) - Math.Log(min)));

    internal static double Check(double value, string name, double min, double max) =>
        value >= min && value <= max
            ? value
            : throw new OnnxTransferException($"{name} {value} is outside [{min}, {max}]; pick a ratio in that range (1 = unchanged).");
}

/// <summary>
/// Ranges for <see cref="VoiceTransform.Random"/>, each [Min, Max] inside the ratio limits of
/// <see cref="VoiceTransform"/>. The defaults span roughly a child-to-adult-male spread around a typical TTS voice.
/// </summary>
public sealed record VoiceTransformRanges(
    double MinPitch = 0.75, double MaxPitch = 1.35,
    double MinFormant = 0.85, double MaxFormant = 1.18,
    double MinTempo = 0.8, double MaxTempo = 1.25)
{
    /// <summary>The default ranges.</summary>
    public static VoiceTransformRanges Default { get; } = new();

    internal void Validate()
    {
        Range(MinPitch, MaxPitch, "Pitch", VoiceTransform.MinPitchRatio, VoiceTransform.MaxPitchRatio);
        Range(MinFormant, MaxFormant, "Formant", VoiceTransform.MinFormantRatio, VoiceTransform.MaxFormantRatio);
        Range(MinTempo, MaxTempo, "Tempo", VoiceTransform.MinTempoRatio, VoiceTransform.MaxTempoRatio);
    }

    private static void Range(double min, double max, string name, double lo, double hi)
    {
        VoiceTransform.Check(min, $"Min{name}", lo, hi);
        VoiceTransform.Check(max, $"Max{name}", lo, hi);
        if (min > max)
            throw new OnnxTransferException($"Min{name} {min} is above Max{name} {max}; swap them.");
    }
}
