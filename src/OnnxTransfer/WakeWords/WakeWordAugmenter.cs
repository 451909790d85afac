using OnnxTransfer.Audio;
using OnnxTransfer.Audio.Augmentation;
using OnnxTransfer.Training.Engine;

namespace OnnxTransfer.WakeWords;

/// <summary>How often and how strongly <see cref="WakeWordAugmenter"/> changes a clip (each drawn per copy).</summary>
public sealed record WakeWordAugmentationOptions
{
    /// <summary>Chance of a voice transformation (pitch, formants, tempo; <see cref="VoiceTransform"/>).</summary>
    public double VoiceProbability { get; init; } = 0.9;
    /// <summary>Chance of a simulated room (image-source impulse response; <see cref="RoomSimulator"/>).</summary>
    public double RoomProbability { get; init; } = 0.5;
    /// <summary>Chance of a microphone/channel simulation (band limits, tilt, compression, clipping, telephone).</summary>
    public double ChannelProbability { get; init; } = 0.6;
    /// <summary>Chance of background sound.</summary>
    public double NoiseProbability { get; init; } = 0.9;
    /// <summary>Share of backgrounds that are babble (other speech) when talkers are available.</summary>
    public double BabbleShare { get; init; } = 0.3;
    /// <summary>Lowest signal-to-noise ratio in dB (speech power over the speech span vs the background's).</summary>
    public double MinSnrDb { get; init; } = 0;
    /// <summary>Highest signal-to-noise ratio in dB.</summary>
    public double MaxSnrDb { get; init; } = 25;
    /// <summary>Lowest peak level of the finished clip in dBFS.</summary>
    public double MinPeakDb { get; init; } = -30;
    /// <summary>Highest peak level of the finished clip in dBFS.</summary>
    public double MaxPeakDb { get; init; } = -1;
    /// <summary>Longest gap between the end of a positive phrase and the end of the clip, in seconds (openWakeWord: 0–200 ms).</summary>
    public double MaxEndGapSeconds { get; init; } = 0.2;
    /// <summary>
    /// Voice transformation ranges: wider than <see cref="VoiceTransformRanges.Default"/>, because the synthetic
    /// voices are mostly adult and mostly male, while the people who will say the phrase include women and children.
    /// </summary>
    public VoiceTransformRanges Voice { get; init; } = new(MinPitch: 0.7, MaxPitch: 1.6, MinFormant: 0.82, MaxFormant: 1.25);
    /// <summary>Room ranges.</summary>
    public RoomRanges Room { get; init; } = new();

    /// <summary>Throws <see cref="OnnxTransferException"/> for inconsistent ranges.</summary>
    public void Validate()
    {
        foreach (var (name, p) in new[] { ("voice", VoiceProbability), ("room", RoomProbability), ("channel", ChannelProbability), ("noise", NoiseProbability), ("babble", BabbleShare) })
            if (p is < 0 or > 1 || double.IsNaN(p)) throw new OnnxTransferException($"augmentation: the {name} probability {p} must be in [0, 1].");
        if (MinSnrDb > MaxSnrDb || MinPeakDb > MaxPeakDb || MaxPeakDb > 0 || MaxEndGapSeconds < 0)
            throw new OnnxTransferException("augmentation: each range needs min <= max, peaks <= 0 dBFS and a non-negative end gap; fix the options.");
    }
}

/// <summary>What <see cref="WakeWordAugmenter.Make"/> did to one clip (for manifests and debugging).</summary>
/// <param name="Voice">The voice transformation, or null.</param>
/// <param name="Rt60">Reverberation time of the simulated room in seconds, or null when dry.</param>
/// <param name="Channel">The channel settings, or null.</param>
/// <param name="Background">"recording", "babble", "pink", "white", "brown", "hum" or "none".</param>
/// <param name="SnrDb">Signal-to-noise ratio, or null without background or speech.</param>
/// <param name="PeakDb">Peak level of the clip in dBFS.</param>
internal sealed record AugmentationApplied(VoiceTransform? Voice, double? Rt60, ChannelSettings? Channel, string Background, double? SnrDb, double PeakDb);

/// <summary>
/// Makes a clean synthetic render sound like a person recorded somewhere: a voice transformation (another
/// vocal tract, pitch and pace), a simulated room, placement in a clip (a positive phrase ends 0–200 ms before
/// the clip's end, as the detector sees it; negatives sit anywhere), background sound at a random SNR (real
/// recordings when given, babble made of other speech, or synthetic noise), a microphone/channel simulation of
/// the mixture and a random level. Every draw comes from the caller's <see cref="SeededRandom"/>, so a seed
/// reproduces the clip; instances hold only read-only data and may be shared by threads.
/// </summary>
internal sealed class WakeWordAugmenter
{
    private readonly float[][] _noise;
    private readonly float[][] _talkers;

    /// <summary>Creates an augmenter; <paramref name="noiseRecordings"/> and <paramref name="babbleTalkers"/> are 16 kHz clips (none = synthetic noise only).</summary>
    public WakeWordAugmenter(WakeWordAugmentationOptions? options = null, IReadOnlyList<float[]>? noiseRecordings = null,
        IReadOnlyList<float[]>? babbleTalkers = null)
    {
        Options = options ?? new WakeWordAugmentationOptions();
        Options.Validate();
        _noise = (noiseRecordings ?? []).Where(n => SignalLevel.MeanSquare(n) > 0).ToArray();
        _talkers = (babbleTalkers ?? []).Where(n => SignalLevel.MeanSquare(n) > 0).ToArray();
    }

    /// <summary>The options in use.</summary>
    public WakeWordAugmentationOptions Options { get; }

    /// <summary>Loads every .wav under <paramref name="folder"/> (resampled to 16 kHz) as background recordings.</summary>
    public static IReadOnlyList<float[]> LoadRecordings(string folder)
    {
        if (!Directory.Exists(folder))
            throw new OnnxTransferException($"{folder}: noise folder not found; pass a folder of .wav recordings.");
        var files = Directory.EnumerateFiles(folder, "*.wav", SearchOption.AllDirectories).Order(StringComparer.Ordinal).ToArray();
        if (files.Length == 0) throw new OnnxTransferException($"{folder}: no .wav files; pass a folder of noise recordings.");
        return files.Select(f => WavReader.Read(f).ResampleTo(SpeechFrontEnd.SampleRate).Samples).ToArray();
    }

    /// <summary>
    /// One clip of <paramref name="clipSamples"/> samples from the clean <paramref name="speech"/> (may be empty:
    /// background only). Positives end 0–<see cref="WakeWordAugmentationOptions.MaxEndGapSeconds"/> before the
    /// clip's end; negatives are placed at random (possibly cut by the clip's edges).
    /// </summary>
    public (float[] Clip, AugmentationApplied Applied) Make(ReadOnlySpan<float> speech, int clipSamples, bool positive, SeededRandom rng)
    {
        const int rate = SpeechFrontEnd.SampleRate;
        var o = Options;
        var dry = speech.ToArray();
        VoiceTransform? voice = null;
        if (dry.Length > 0 && rng.NextDouble() < o.VoiceProbability)
        {
            voice = VoiceTransform.Random(rng, o.Voice);
            dry = voice.Apply(dry, rate);
        }
        var dryLength = dry.Length;
        double? rt60 = null;
        if (dry.Length > 0 && rng.NextDouble() < o.RoomProbability)
        {
            var room = RoomSimulator.Random(rng, o.Room);
            rt60 = Math.Round(RoomSimulator.Rt60(room), 3);
            dry = RoomSimulator.Reverberate(dry, RoomSimulator.ImpulseResponse(room, rate));
        }

        var clip = new float[clipSamples];
        int start, end;
        if (positive)
        {
            var gap = (int)(rng.NextDouble() * o.MaxEndGapSeconds * rate);
            end = clipSamples - gap;                      // where the dry speech ends
            start = end - dryLength;
        }
        else
        {
            start = rng.NextInt(clipSamples + dryLength) - dryLength; // anywhere overlapping the clip
            end = start + dryLength;
        }
        for (var i = Math.Max(0, start); i < Math.Min(clipSamples, start + dry.Length); i++) clip[i] = dry[i - start];
        var speechSpan = clip.AsSpan(Math.Clamp(start, 0, clipSamples), Math.Max(0, Math.Min(clipSamples, end) - Math.Clamp(start, 0, clipSamples)));
        var speechPower = SignalLevel.MeanSquare(speechSpan);

        string background = "none";
        double? snr = null;
        if (rng.NextDouble() < o.NoiseProbability)
        {
            var (noise, kind) = Background(clipSamples, rng);
            background = kind;
            if (speechPower > 0)
            {
                snr = o.MinSnrDb + (o.MaxSnrDb - o.MinSnrDb) * rng.NextDouble();
                NoiseMixer.MixAtSnr(clip, noise, speechPower, snr.Value);
            }
            else
            {
                NoiseMixer.MixAtSnr(clip, noise, 1, 0); // background alone: its level is set below
            }
        }
        ChannelSettings? channel = null;
        if (rng.NextDouble() < o.ChannelProbability)
        {
            channel = ChannelSettings.Random(rng);
            clip = ChannelSimulator.Apply(clip, channel, rate);
        }
        var peakDb = o.MinPeakDb + (o.MaxPeakDb - o.MinPeakDb) * rng.NextDouble();
        SignalLevel.NormalizePeak(clip, peakDb);
        return (clip, new AugmentationApplied(voice, rt60, channel, background, snr, Math.Round(peakDb, 2)));
    }

    /// <summary>A background of <paramref name="length"/> samples: a slice of a recording, babble, or synthetic noise.</summary>
    public (float[] Noise, string Kind) Background(int length, SeededRandom rng)
    {
        var r = rng.NextDouble();
        if (_talkers.Length > 0 && r < Options.BabbleShare)
            return (Babble.Mix(_talkers, length, 3 + rng.NextInt(5), rng), "babble");
        if (_noise.Length > 0 && rng.NextDouble() < 0.7)
        {
            var source = _noise[rng.NextInt(_noise.Length)];
            var segment = new float[length];
            var offset = source.Length > length ? rng.NextInt(source.Length - length) : 0;
            for (var i = 0; i < length; i++) segment[i] = source[(offset + i) % source.Length];
            if (SignalLevel.MeanSquare(segment) > 0) return (segment, "recording");
        }
        return rng.NextInt(4) switch
        {
            0 => (NoiseMixer.White(length, rng), "white"),
            1 => (NoiseMixer.Pink(length, rng), "pink"),
            2 => (NoiseMixer.Brown(length, rng), "brown"),
            _ => (Sum(NoiseMixer.Pink(length, rng), NoiseMixer.Hum(length, rng), 0.3f), "hum"),
        };
    }

    private static float[] Sum(float[] a, float[] b, float bScale)
    {
        for (var i = 0; i < a.Length; i++) a[i] += bScale * b[i];
        return a;
    }
}
