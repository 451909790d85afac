using OnnxTransfer.Audio;
using OnnxTransfer.Training;

namespace OnnxTransfer.WakeWords;

/// <summary>Ranges the <see cref="Augmenter"/> draws from (uniformly, per clip).</summary>
public sealed record AugmentationOptions
{
    /// <summary>Lowest signal-to-noise ratio in dB (speech power over the speech span vs noise power).</summary>
    public double MinSnrDb { get; init; } = 5;
    /// <summary>Highest signal-to-noise ratio in dB.</summary>
    public double MaxSnrDb { get; init; } = 30;
    /// <summary>Chance that a clip gets background noise at all.</summary>
    public double NoiseProbability { get; init; } = 0.9;
    /// <summary>Lowest speech peak level in dBFS.</summary>
    public double MinPeakDb { get; init; } = -24;
    /// <summary>Highest speech peak level in dBFS.</summary>
    public double MaxPeakDb { get; init; } = -1;
    /// <summary>Chance that speech goes through a synthetic room (<see cref="Augmenter.Reverberate"/>).</summary>
    public double ReverbProbability { get; init; } = 0.3;
    /// <summary>Shortest RT60 (seconds) of the synthetic room.</summary>
    public double MinRt60 { get; init; } = 0.1;
    /// <summary>Longest RT60 (seconds).</summary>
    public double MaxRt60 { get; init; } = 0.5;
}

/// <summary>
/// Makes synthetic speech sound recorded: places it in a clip (ending a chosen gap before the clip's end),
/// optional room reverb, background noise at a random SNR (slices of real recordings when given, else
/// synthetic pink or white noise) and a random level. Every draw comes from the caller's
/// <see cref="SeededRandom"/>, so a seed reproduces the clip.
/// </summary>
public sealed class Augmenter
{
    private readonly float[][] _noise;

    /// <summary>Uses <paramref name="noiseRecordings"/> (16 kHz) as backgrounds; none = synthetic noise only.</summary>
    public Augmenter(AugmentationOptions? options = null, IReadOnlyList<float[]>? noiseRecordings = null)
    {
        Options = options ?? new AugmentationOptions();
        if (Options.MinSnrDb > Options.MaxSnrDb || Options.MinPeakDb > Options.MaxPeakDb || Options.MinRt60 > Options.MaxRt60 || Options.MinRt60 <= 0)
            throw new OnnxTransferException("augmentation: each range needs min <= max (and RT60 > 0); fix the options.");
        _noise = (noiseRecordings ?? []).Where(n => n.Length > 0).ToArray();
    }

    /// <summary>The ranges in use.</summary>
    public AugmentationOptions Options { get; }

    /// <summary>Number of real noise recordings available.</summary>
    public int NoiseRecordings => _noise.Length;

    /// <summary>Loads every .wav under <paramref name="folder"/> (resampled to 16 kHz) as background noise.</summary>
    public static Augmenter FromNoiseFolder(string folder, AugmentationOptions? options = null)
    {
        if (!Directory.Exists(folder))
            throw new OnnxTransferException($"{folder}: noise folder not found; pass a folder of .wav recordings (e.g. ../shared/datasets/noise).");
        var files = Directory.EnumerateFiles(folder, "*.wav", SearchOption.AllDirectories).Order(StringComparer.Ordinal).ToArray();
        if (files.Length == 0)
            throw new OnnxTransferException($"{folder}: no .wav files; pass a folder of noise recordings.");
        return new Augmenter(options, files.Select(f => WavReader.Read(f).ResampleTo(SpeechFrontEnd.SampleRate).Samples).ToArray());
    }

    /// <summary>
    /// Builds one clip of <paramref name="clipSamples"/> samples from trimmed <paramref name="speech"/> whose
    /// last sample sits <paramref name="endGap"/> samples before the clip's end (speech that does not fit
    /// loses its start; reverb is cut at the speech's end). Returns the clip and the applied settings.
    /// </summary>
    public (float[] Clip, AugmentationApplied Applied) Apply(ReadOnlySpan<float> speech, int clipSamples, int endGap, SeededRandom rng)
    {
        var dry = speech.ToArray();
        double? rt60 = null;
        if (dry.Length > 0 && rng.NextDouble() < Options.ReverbProbability)
        {
            rt60 = Uniform(rng, Options.MinRt60, Options.MaxRt60);
            // Keep the speech's own length: the room tail past the last word would push the phrase away from the clip's end.
            dry = Reverberate(dry, rt60.Value, Uniform(rng, 0.1, 0.5), rng)[..dry.Length];
        }
        var peakDb = Uniform(rng, Options.MinPeakDb, Options.MaxPeakDb);
        NormalizePeak(dry, peakDb);
        var clip = new float[clipSamples];
        var (start, length) = Place(dry, clip, endGap);
        double? snr = null;
        string noiseKind = "none";
        if (rng.NextDouble() < Options.NoiseProbability)
        {
            var (noise, kind) = NoiseSegment(clipSamples, rng);
            noiseKind = kind;
            snr = Uniform(rng, Options.MinSnrDb, Options.MaxSnrDb);
            var speechPower = MeanSquare(clip.AsSpan(start, length));
            // Speech-free clips (negatives of pure noise) take the noise at the clip's peak level instead.
            var reference = speechPower > 0 ? speechPower : Math.Pow(10, peakDb / 10) / 8;
            MixAtSnr(clip, noise, reference, snr.Value);
        }
        var peak = Peak(clip);
        if (peak > 0.99f) Scale(clip, 0.99f / peak); // never clip
        return (clip, new AugmentationApplied(snr, noiseKind, rt60, peakDb));
    }

    /// <summary>A noise segment of <paramref name="length"/> samples: a random slice of a recording, or pink/white noise.</summary>
    public (float[] Noise, string Kind) NoiseSegment(int length, SeededRandom rng)
    {
        if (_noise.Length > 0 && rng.NextDouble() < 0.8)
        {
            var source = _noise[rng.NextInt(_noise.Length)];
            var segment = new float[length];
            var offset = source.Length > length ? rng.NextInt(source.Length - length) : 0;
            for (var i = 0; i < length; i++) segment[i] = source[(offset + i) % source.Length];
            if (MeanSquare(segment) > 0) return (segment, "recording");
        }
        return rng.NextDouble() < 0.5 ? (PinkNoise(length, rng), "pink") : (WhiteNoise(length, rng), "white");
    }

    /// <summary>
    /// Adds <paramref name="noise"/> to <paramref name="signal"/> scaled so that
    /// 10·log10(<paramref name="signalPower"/> / mean square of the scaled noise) = <paramref name="snrDb"/>.
    /// Returns the scale applied (0 for silent noise).
    /// </summary>
    public static double MixAtSnr(Span<float> signal, ReadOnlySpan<float> noise, double signalPower, double snrDb)
    {
        if (noise.Length < signal.Length) throw new ArgumentException("noise is shorter than the signal", nameof(noise));
        var noisePower = MeanSquare(noise[..signal.Length]);
        if (noisePower <= 0) return 0;
        var scale = Math.Sqrt(signalPower / (noisePower * Math.Pow(10, snrDb / 10)));
        for (var i = 0; i < signal.Length; i++) signal[i] += (float)(noise[i] * scale);
        return scale;
    }

    /// <summary>
    /// Copies <paramref name="speech"/> into <paramref name="clip"/> so it ends <paramref name="endGap"/>
    /// samples before the clip's end; returns where it starts and how many samples were kept.
    /// </summary>
    public static (int Start, int Length) Place(ReadOnlySpan<float> speech, Span<float> clip, int endGap)
    {
        endGap = Math.Clamp(endGap, 0, clip.Length);
        var end = clip.Length - endGap;
        var length = Math.Min(speech.Length, end);
        speech[^length..].CopyTo(clip[(end - length)..end]);
        return (end - length, length);
    }

    /// <summary>
    /// The span of <paramref name="samples"/> between the first and last 10 ms frame whose RMS is within
    /// <paramref name="thresholdDb"/> of the loudest frame (espeak-ng pads speech with silence).
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

    /// <summary>
    /// Convolves <paramref name="dry"/> with a synthetic room impulse response: the direct path (1) plus
    /// Gaussian noise decaying by 60 dB over <paramref name="rt60"/> seconds, its energy
    /// <paramref name="wetRatio"/> times the direct path's. Output keeps the input's peak and length plus the tail.
    /// </summary>
    public static float[] Reverberate(ReadOnlySpan<float> dry, double rt60, double wetRatio, SeededRandom rng)
    {
        var irLength = Math.Max(2, (int)(rt60 * SpeechFrontEnd.SampleRate));
        var ir = new float[irLength];
        var decay = Math.Log(1000) / (rt60 * SpeechFrontEnd.SampleRate); // amplitude falls 60 dB over rt60
        double tailEnergy = 0;
        for (var i = 1; i < irLength; i++)
        {
            ir[i] = (float)(rng.NextGaussian() * Math.Exp(-decay * i));
            tailEnergy += ir[i] * (double)ir[i];
        }
        var tailScale = tailEnergy > 0 ? Math.Sqrt(wetRatio / tailEnergy) : 0;
        for (var i = 1; i < irLength; i++) ir[i] = (float)(ir[i] * tailScale);
        ir[0] = 1;
        var wet = new float[dry.Length + irLength - 1];
        for (var i = 0; i < dry.Length; i++)
        {
            var x = dry[i];
            if (x == 0) continue;
            var dst = wet.AsSpan(i, irLength);
            for (var k = 0; k < irLength; k++) dst[k] += x * ir[k];
        }
        var peakIn = Peak(dry);
        var peakOut = Peak(wet);
        if (peakOut > 0) Scale(wet, peakIn / peakOut);
        return wet;
    }

    /// <summary>Unit-variance white Gaussian noise.</summary>
    public static float[] WhiteNoise(int length, SeededRandom rng)
    {
        var x = new float[length];
        for (var i = 0; i < length; i++) x[i] = (float)rng.NextGaussian();
        return x;
    }

    /// <summary>Pink (1/f) noise from white noise through Paul Kellet's economy filter, scaled to unit RMS.</summary>
    public static float[] PinkNoise(int length, SeededRandom rng)
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
        var rms = Math.Sqrt(MeanSquare(x));
        if (rms > 0) Scale(x, (float)(1 / rms));
        return x;
    }

    /// <summary>Mean of the squared samples (0 for none).</summary>
    public static double MeanSquare(ReadOnlySpan<float> x)
    {
        if (x.IsEmpty) return 0;
        double sum = 0;
        foreach (var v in x) sum += v * (double)v;
        return sum / x.Length;
    }

    private static float Peak(ReadOnlySpan<float> x)
    {
        var peak = 0f;
        foreach (var v in x) peak = Math.Max(peak, Math.Abs(v));
        return peak;
    }

    private static void NormalizePeak(Span<float> x, double peakDb)
    {
        var peak = Peak(x);
        if (peak > 0) Scale(x, (float)(Math.Pow(10, peakDb / 20) / peak));
    }

    private static void Scale(Span<float> x, float factor)
    {
        for (var i = 0; i < x.Length; i++) x[i] *= factor;
    }

    private static double Uniform(SeededRandom rng, double min, double max) => min + (max - min) * rng.NextDouble();
}

/// <summary>What <see cref="Augmenter.Apply"/> did to one clip.</summary>
/// <param name="SnrDb">Signal-to-noise ratio in dB, or null without noise.</param>
/// <param name="Noise">"recording", "pink", "white" or "none".</param>
/// <param name="Rt60">Reverb time in seconds, or null when dry.</param>
/// <param name="PeakDb">Speech peak level in dBFS before noise.</param>
public sealed record AugmentationApplied(double? SnrDb, string Noise, double? Rt60, double PeakDb);
