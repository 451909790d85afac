using System.Text.Json;
using System.Text.Json.Serialization;
using OnnxTransfer.Audio;
using OnnxTransfer.Training;
using OnnxTransfer.WakeWords.Synthesis;

namespace OnnxTransfer.WakeWords;

/// <summary>What <see cref="WakeWordDataGenerator"/> makes.</summary>
public sealed record WakeWordDataOptions
{
    /// <summary>The wake phrase.</summary>
    public required string Phrase { get; init; }
    /// <summary>Positive clips in all (train + test).</summary>
    public int Positives { get; init; } = 500;
    /// <summary>Negative clips in all; null = twice the positives.</summary>
    public int? Negatives { get; init; }
    /// <summary>Fraction of clips written to the test split, spoken only by held-out voice variants.</summary>
    public double TestFraction { get; init; } = 0.2;
    /// <summary>Fraction of the voice variants reserved for the test split.</summary>
    public double TestVariantFraction { get; init; } = 0.2;
    /// <summary>Shortest clip in seconds (openWakeWord trains on clips of at least 2 s).</summary>
    public double ClipSeconds { get; init; } = 2.5;
    /// <summary>Longest gap between the end of the phrase and the end of the clip, in seconds.</summary>
    public double MaxEndGapSeconds { get; init; } = 0.2;
    /// <summary>Seed of every random choice.</summary>
    public ulong Seed { get; init; } = 1;
    /// <summary>Worker threads (clips are independent; the output does not depend on this).</summary>
    public int Threads { get; init; } = Environment.ProcessorCount;
    /// <summary>Augmentation ranges.</summary>
    public AugmentationOptions Augmentation { get; init; } = new();
    /// <summary>Folder of background-noise recordings; null = synthetic noise only.</summary>
    public string? NoiseFolder { get; init; }
}

/// <summary>One written clip (an entry of synth.json).</summary>
public sealed record SynthesizedClip(string Path, string Split, string Label, string Kind, string Text, string Voice,
    double SpeechSeconds, double EndGapSeconds, AugmentationApplied Augmentation);

/// <summary>The synth.json written beside the clips.</summary>
public sealed record SynthesisManifest(string Phrase, ulong Seed, string[] TrainVariants, string[] TestVariants,
    IReadOnlyList<SynthesizedClip> Clips)
{
    /// <summary>File name inside the output folder.</summary>
    public const string FileName = "synth.json";
}

/// <summary>
/// Writes a synthetic wake-word dataset: <c>DIR/{train,test}/{positive,negative}/*.wav</c> (16 kHz, 16-bit)
/// plus <c>synth.json</c>. Positives are the phrase spoken by espeak-ng across voices, variants, speeds and
/// pitches; negatives are near misses of the phrase (<see cref="ConfusablePhrases.NearMisses"/>), other
/// words and sentences, and pure background. Every clip is at least <see cref="WakeWordDataOptions.ClipSeconds"/>
/// long with the speech (trailing silence trimmed) ending 0-200 ms before its end, then augmented
/// (<see cref="Augmenter"/>). The test split uses voice variants the train split never hears. Each clip
/// draws from its own seeded stream, so the output is identical for a seed whatever the thread count.
/// </summary>
public static class WakeWordDataGenerator
{
    /// <summary>Label folder of wake-word clips.</summary>
    public const string PositiveLabel = "positive";
    /// <summary>Label folder of everything else.</summary>
    public const string NegativeLabel = "negative";

    private static readonly JsonSerializerOptions Json = new() { WriteIndented = true, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull };

    /// <summary>Generates the dataset into <paramref name="outputDir"/> and returns its manifest.</summary>
    public static SynthesisManifest Generate(string outputDir, WakeWordDataOptions options, ISpeechSynthesizer? synthesizer = null,
        IProgress<ProgressUpdate>? progress = null, CancellationToken ct = default)
    {
        if (string.IsNullOrWhiteSpace(options.Phrase)) throw new OnnxTransferException("wake phrase is empty; pass a phrase such as \"hey computer\".");
        if (options.Positives < 1) throw new OnnxTransferException($"--count {options.Positives}: need at least one positive clip.");
        if (options.ClipSeconds < 2) throw new OnnxTransferException($"clip length {options.ClipSeconds} s is below 2 s; openWakeWord heads read about 2 s of audio.");
        if (options.TestFraction is < 0 or >= 1) throw new OnnxTransferException($"test fraction {options.TestFraction} must be in [0, 1).");
        synthesizer ??= new EspeakSynthesizer();
        synthesizer.EnsureAvailable();
        var augmenter = options.NoiseFolder is null ? new Augmenter(options.Augmentation) : Augmenter.FromNoiseFolder(options.NoiseFolder, options.Augmentation);

        var root = new SeededRandom(options.Seed);
        var variants = EspeakSynthesizer.Variants.Where(v => v.Length > 0).ToArray();
        root.Shuffle(variants.AsSpan());
        var heldOut = options.TestFraction > 0 ? Math.Max(1, (int)Math.Round(variants.Length * options.TestVariantFraction)) : 0;
        var testVariants = variants.Take(heldOut).Order(StringComparer.Ordinal).ToArray();
        var trainVariants = variants.Skip(heldOut).Prepend("").Order(StringComparer.Ordinal).ToArray();
        var nearMisses = ConfusablePhrases.NearMisses(options.Phrase, 60, new SeededRandom(options.Seed ^ 0x4E3A_11u));

        var negatives = options.Negatives ?? 2 * options.Positives;
        var jobs = new List<(string Label, int Index, bool Test)>();
        void AddJobs(string label, int count)
        {
            var test = (int)Math.Round(count * options.TestFraction);
            for (var i = 0; i < count; i++) jobs.Add((label, i, i < test));
        }
        AddJobs(PositiveLabel, options.Positives);
        AddJobs(NegativeLabel, negatives);
        foreach (var split in new[] { "train", "test" })
        foreach (var label in new[] { PositiveLabel, NegativeLabel })
            Directory.CreateDirectory(Path.Combine(outputDir, split, label));

        var clips = new SynthesizedClip[jobs.Count];
        var done = 0;
        Parallel.For(0, jobs.Count, new ParallelOptions { MaxDegreeOfParallelism = Math.Max(1, options.Threads), CancellationToken = ct }, j =>
        {
            var (label, index, test) = jobs[j];
            var rng = new SeededRandom(options.Seed * 0x9E37_79B9_7F4A_7C15UL ^ ((ulong)j + 1) * 0xBF58_476D_1CE4_E5B9UL);
            clips[j] = MakeClip(outputDir, options, synthesizer, augmenter, label, index, test,
                test ? testVariants : trainVariants, nearMisses, rng);
            var n = Interlocked.Increment(ref done);
            progress?.Report(new ProgressUpdate("synthesize", n, jobs.Count, "clips"));
        });
        var manifest = new SynthesisManifest(options.Phrase, options.Seed, trainVariants, testVariants, clips);
        AtomicFile.WriteText(Path.Combine(outputDir, SynthesisManifest.FileName), JsonSerializer.Serialize(manifest, Json));
        return manifest;
    }

    private static SynthesizedClip MakeClip(string outputDir, WakeWordDataOptions options, ISpeechSynthesizer synthesizer,
        Augmenter augmenter, string label, int index, bool test, string[] variants, IReadOnlyList<string> nearMisses, SeededRandom rng)
    {
        const int rate = SpeechFrontEnd.SampleRate;
        var accent = EspeakSynthesizer.EnglishVoices[rng.NextInt(EspeakSynthesizer.EnglishVoices.Count)];
        var variant = variants[rng.NextInt(variants.Length)];
        var voice = new SynthesisVoice(EspeakSynthesizer.EngineName, variant.Length == 0 ? accent : accent + "+" + variant,
            (120 + rng.NextInt(81)) / (double)EspeakSynthesizer.DefaultWordsPerMinute, (20 + rng.NextInt(61)) / (double)EspeakSynthesizer.DefaultPitch);
        string kind, text;
        var maxGap = options.MaxEndGapSeconds;
        if (label == PositiveLabel)
        {
            kind = "phrase";
            text = options.Phrase + (rng.NextInt(3) switch { 0 => "", 1 => ".", _ => "!" });
        }
        else
        {
            var r = rng.NextDouble();
            if (r < 0.4 && nearMisses.Count > 0) { kind = "near-miss"; text = nearMisses[rng.NextInt(nearMisses.Count)]; }
            else if (r < 0.6) { kind = "word"; text = ConfusablePhrases.Words[rng.NextInt(ConfusablePhrases.Words.Count)]; }
            else if (r < 0.88) { kind = "sentence"; text = ConfusablePhrases.Sentences[rng.NextInt(ConfusablePhrases.Sentences.Count)]; maxGap = 1.0; }
            else { kind = "background"; text = ""; }
        }
        var speech = text.Length == 0 ? [] : Augmenter.TrimSilence(synthesizer.Synthesize(text, voice));
        var gap = (int)(rng.NextDouble() * maxGap * rate);
        var minimum = (int)Math.Ceiling(options.ClipSeconds * rate);
        var clipSamples = kind == "phrase" ? Math.Max(minimum, speech.Length + gap + rate * 3 / 10) : minimum;
        var (clip, applied) = augmenter.Apply(speech, clipSamples, gap, rng);
        var split = test ? "test" : "train";
        var name = $"{(label == PositiveLabel ? "pos" : "neg")}_{index:D5}.wav";
        var relative = Path.Combine(split, label, name);
        WavWriter.Write(Path.Combine(outputDir, relative), clip, rate);
        return new SynthesizedClip(relative, split, label, kind, text, kind == "background" ? "" : voice.ToString(),
            (double)speech.Length / rate, (double)gap / rate, applied);
    }
}
