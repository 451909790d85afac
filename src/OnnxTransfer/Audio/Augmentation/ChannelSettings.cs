
namespace OnnxTransfer.Audio.Augmentation;

/// <summary>
/// A microphone and transmission channel for <see cref="ChannelSimulator"/>. The defaults change nothing.
/// Compressor and clipping levels are relative to the input's peak, so their effect does not depend on how
/// loud the clip happens to be.
/// </summary>
internal sealed record ChannelSettings
{
    /// <summary>Microphone low-cut corner in Hz (2nd-order Butterworth), or null for none. Typical 50–400.</summary>
    public double? HighPassHz { get; init; }
    /// <summary>Bandwidth limit in Hz (4th-order Butterworth), or null for none. Typical 3000–8000.</summary>
    public double? LowPassHz { get; init; }
    /// <summary>Treble minus bass in dB (half each way from shelves at <see cref="ChannelSimulator.TiltHz"/>); positive is brighter.</summary>
    public double TiltDb { get; init; }
    /// <summary>Automatic gain control or compressor, or null for none.</summary>
    public Compression? Compressor { get; init; }
    /// <summary>Overdriven preamp or converter, or null for none.</summary>
    public Clipping? Clip { get; init; }
    /// <summary>Narrow-band telephone line, or null for none.</summary>
    public Telephone? Telephone { get; init; }

    /// <summary>
    /// A random channel: high-pass 50–400 Hz (log-uniform), a 3–7.5 kHz low-pass half the time, tilt ±6 dB,
    /// compression 30 %, clipping 10 %, telephone 10 % (μ-law in half of those).
    /// </summary>
    public static ChannelSettings Random(SeededRandom rng) => new()
    {
        HighPassHz = 50 * Math.Pow(8, rng.NextDouble()),
        LowPassHz = rng.NextDouble() < 0.5 ? Signals.Uniform(rng, 3000, 7500) : null,
        TiltDb = Signals.Uniform(rng, -6, 6),
        Compressor = rng.NextDouble() < 0.3 ? new Compression(Signals.Uniform(rng, -24, -6), Signals.Uniform(rng, 2, 10)) : null,
        Clip = rng.NextDouble() < 0.1 ? new Clipping(Signals.Uniform(rng, 0.2, 0.8), rng.NextDouble() < 0.5) : null,
        Telephone = rng.NextDouble() < 0.1 ? new Telephone(rng.NextDouble() < 0.5) : null,
    };

    internal void Validate(int sampleRate)
    {
        var nyquist = sampleRate / 2.0;
        if (HighPassHz is { } hp && !(hp > 0 && hp < 0.45 * nyquist))
            throw new OnnxTransferException($"channel high-pass {hp} Hz: must be between 0 and {0.45 * nyquist} Hz at {sampleRate} Hz.");
        if (LowPassHz is { } lp && !(lp > (HighPassHz ?? 0) && lp < 0.98 * nyquist))
            throw new OnnxTransferException($"channel low-pass {lp} Hz: must lie above the high-pass and below {0.98 * nyquist} Hz at {sampleRate} Hz; use null for none.");
        if (!(Math.Abs(TiltDb) <= 24))
            throw new OnnxTransferException($"channel tilt {TiltDb} dB: must be within ±24 dB.");
        Compressor?.Validate();
        Clip?.Validate();
    }
}

/// <summary>A compressor: above <paramref name="ThresholdDb"/> (dB relative to the input's peak) the level rises 1/<paramref name="Ratio"/> as fast.</summary>
/// <param name="ThresholdDb">Threshold in dB below the input's peak (≤ 0).</param>
/// <param name="Ratio">Compression ratio (≥ 1).</param>
/// <param name="AttackSeconds">Envelope attack time.</param>
/// <param name="ReleaseSeconds">Envelope release time.</param>
internal sealed record Compression(double ThresholdDb, double Ratio, double AttackSeconds = 0.005, double ReleaseSeconds = 0.1)
{
    internal void Validate()
    {
        if (!(ThresholdDb <= 0 && ThresholdDb >= -60 && Ratio >= 1 && Ratio <= 100 && AttackSeconds > 0 && ReleaseSeconds > 0))
            throw new OnnxTransferException($"channel compressor {this}: needs −60 ≤ threshold ≤ 0 dB, 1 ≤ ratio ≤ 100 and positive times.");
    }
}

/// <summary>Clipping at <paramref name="Level"/> × the input's peak: hard (flat tops) or soft (tanh).</summary>
/// <param name="Level">Where clipping starts, as a fraction of the input's peak, in (0, 1].</param>
/// <param name="Soft">Round the tops with tanh instead of cutting them flat.</param>
internal sealed record Clipping(double Level, bool Soft = false)
{
    internal void Validate()
    {
        if (!(Level > 0 && Level <= 1))
            throw new OnnxTransferException($"channel clip level {Level}: must be in (0, 1] (a fraction of the input's peak).");
    }
}

/// <summary>A telephone line: 8 kHz sampling, 300–3400 Hz band-pass, optionally 8-bit μ-law (G.711) coding.</summary>
/// <param name="MuLaw">Quantise to 8-bit μ-law as G.711 does.</param>
internal sealed record Telephone(bool MuLaw = false);
