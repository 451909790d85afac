using System.Text.Json;
using OnnxTransfer.Audio;
using OnnxTransfer.WakeWords.Synthesis;
using OnnxTransfer.Training.Engine;

namespace OnnxTransfer.WakeWords;

/// <summary>What <see cref="WakeWordDataGenerator"/> makes.</summary>
public sealed record WakeWordDataOptions
{
    /// <summary>The wake phrase.</summary>
    public required string Phrase { get; init; }
    /// <summary>Positive renders in all (train + val).</summary>
    public int Positives { get; init; } = 1500;
    /// <summary>Negative renders in all; null = the same number as the positives.</summary>
    public int? Negatives { get; init; }
    /// <summary>Synthesizers to use (null = every installed one).</summary>
    public IReadOnlyList<string>? Engines { get; init; }
    /// <summary>Synthesizers never used (e.g. one held out to evaluate on).</summary>
    public IReadOnlyList<string> ExcludedEngines { get; init; } = [];
    /// <summary>Share of the speakers of each synthesizer with many voices held out for the val split (early stopping, threshold calibration).</summary>
    public double ValSpeakerFraction { get; init; } = 0.15;
    /// <summary>Lowest and highest speaking-rate multiplier (log-uniform).</summary>
    public (double Min, double Max) Rate { get; init; } = (0.8, 1.25);
    /// <summary>Lowest and highest pitch multiplier (log-uniform).</summary>
    public (double Min, double Max) Pitch { get; init; } = (0.8, 1.25);
    /// <summary>Seed of every random choice.</summary>
    public ulong Seed { get; init; } = 1;
    /// <summary>Worker threads (the output does not depend on this).</summary>
    public int Threads { get; init; } = Environment.ProcessorCount;
}

/// <summary>One written render (an entry of synth.json).</summary>
/// <param name="Path">Relative to the dataset folder.</param>
/// <param name="Split">"train" or "val".</param>
/// <param name="Label">"positive" or "negative".</param>
/// <param name="Kind">"phrase", "near-miss", "sound-alike" (a dictionary word that sounds close, <see cref="PhoneticNeighbours"/>), "word" (common), "dictionary-word", "words" (a run of dictionary words) or "sentence".</param>
/// <param name="Text">What was spoken.</param>
/// <param name="Speaker">engine:voice — the identity splits are made on.</param>
/// <param name="Voice">The full voice setting (with rate and pitch).</param>
/// <param name="Seconds">Duration after trimming silence.</param>
internal sealed record SynthesizedClip(string Path, string Split, string Label, string Kind, string Text, string Speaker, string Voice, double Seconds);

/// <summary>The synth.json written beside the renders.</summary>
/// <param name="Phrase">The wake phrase.</param>
/// <param name="Seed">Seed used.</param>
/// <param name="Engines">Synthesizers used.</param>
/// <param name="TrainSpeakers">Speakers (engine:voice) of the train split.</param>
/// <param name="ValSpeakers">Speakers of the val split, never in train.</param>
/// <param name="Clips">Every render.</param>
internal sealed record SynthesisManifest(string Phrase, ulong Seed, string[] Engines, string[] TrainSpeakers, string[] ValSpeakers,
    IReadOnlyList<SynthesizedClip> Clips)
{
    /// <summary>File name inside the output folder.</summary>
    public const string FileName = "synth.json";

    /// <summary>The manifest in <paramref name="dataDir"/>, or null when it has none.</summary>
    public static SynthesisManifest? TryRead(string dataDir)
    {
        var path = System.IO.Path.Combine(dataDir, FileName);
        if (!File.Exists(path)) return null;
        try { return JsonText.Read(File.ReadAllText(path), WakeWordsJson.Default.SynthesisManifest); }
        catch (JsonException e) { throw new OnnxTransferException($"{path}: not a synth.json written by `wakeword synth` ({e.Message}); delete it or synthesize again.", e); }
    }

    internal void Write(string dataDir) => AtomicFile.WriteText(System.IO.Path.Combine(dataDir, FileName), JsonText.Write(this, WakeWordsJson.Default.SynthesisManifest));
}

/// <summary>
/// Writes a synthetic wake-word dataset of CLEAN renders: <c>DIR/{train,val}/{positive,negative}/*.wav</c>
/// (16 kHz, 16-bit, silence trimmed) plus <c>synth.json</c>. Positives are the phrase, negatives near misses
/// (<see cref="ConfusablePhrases.NearMisses"/>), other words and sentences, spoken by every installed
/// synthesizer (espeak-ng, flite, festival) across their voices, speaking rates and pitches. Each render picks
/// a synthesizer first (equal shares), then one of its voices, so a synthesizer with hundreds of voice variants
/// does not drown those with a handful. Room, microphone, noise and voice transformation are applied later,
/// freshly for every training copy (<see cref="WakeWordAugmenter"/>). A share of the voices of synthesizers
/// with many voices is held out for the val split. Output is identical for a seed whatever the thread count.
/// </summary>
public static class WakeWordDataGenerator
{
    /// <summary>Label folder of wake-word clips.</summary>
    public const string PositiveLabel = "positive";
    /// <summary>Label folder of everything else.</summary>
    public const string NegativeLabel = "negative";

    /// <summary>Generates the dataset into <paramref name="outputDir"/> and returns its manifest.</summary>
    internal static SynthesisManifest Generate(string outputDir, WakeWordDataOptions options, IReadOnlyList<ISpeechSynthesizer>? synthesizers = null,
        IProgress<ProgressUpdate>? progress = null, CancellationToken ct = default)
    {
        if (string.IsNullOrWhiteSpace(options.Phrase)) throw new OnnxTransferException("wake phrase is empty; pass a phrase such as \"hey computer\".");
        if (options.Positives < 1) throw new OnnxTransferException($"--count {options.Positives}: need at least one positive clip.");
        if (options.ValSpeakerFraction is < 0 or >= 1) throw new OnnxTransferException($"val speaker fraction {options.ValSpeakerFraction} must be in [0, 1).");
        var candidates = synthesizers ?? SynthesizerCatalog.All;
        var engines = ChooseEngines(candidates, options);
        // Leaving a synthesizer out also leaves out the people it was recorded from, whichever engine voices them.
        var excludedPeople = candidates.Where(s => options.ExcludedEngines.Contains(s.Engine, StringComparer.OrdinalIgnoreCase) && IsInstalled(s))
            .SelectMany(s => s.VoiceNames.Select(v => new SynthesisVoice(s.Engine, v).Speaker)).ToHashSet(StringComparer.Ordinal);
        var root = new SeededRandom(options.Seed);
        var (train, val) = SplitSpeakers(engines, excludedPeople, options.ValSpeakerFraction, root);
        // The transcriber is any installed espeak-ng, rendering or not: leaving its voices out must not leave near
        // misses that the other synthesizers pronounce exactly like the phrase among the negatives.
        var transcriber = candidates.OfType<EspeakSynthesizer>().FirstOrDefault(IsInstalled);
        var nearMisses = SoundDifferent(options.Phrase, ConfusablePhrases.NearMisses(options.Phrase, 120, new SeededRandom(options.Seed ^ 0x4E3A_11u)), transcriber);
        var words = ConfusablePhrases.DictionaryWords();
        var dictionary = SoundDifferent(options.Phrase, words, transcriber, closeSpellingsOnly: true);
        var soundAlikes = transcriber is null ? [] : SoundDifferent(options.Phrase, PhoneticNeighbours.NearMisses(options.Phrase, words, transcriber.RawPhonemes, SoundAlikeCount), transcriber);

        var jobs = new List<Job>();
        var negatives = options.Negatives ?? options.Positives;
        for (var i = 0; i < options.Positives + negatives; i++)
        {
            var rng = new SeededRandom(options.Seed * 0x9E37_79B9_7F4A_7C15UL ^ ((ulong)i + 1) * 0xBF58_476D_1CE4_E5B9UL);
            var positive = i < options.Positives;
            var isVal = val.Count > 0 && rng.NextDouble() < options.ValSpeakerFraction;
            var pool = isVal ? val : train;
            var engine = pool.Keys.Order(StringComparer.Ordinal).ElementAt(rng.NextInt(pool.Count));
            var voices = pool[engine];
            var name = voices[rng.NextInt(voices.Count)];
            var rate = Math.Round(LogUniform(rng, options.Rate), 3);
            var pitch = Math.Round(LogUniform(rng, options.Pitch), 3);
            var controls = engines.First(e => e.Engine == engine).Controls(name);
            var voice = new SynthesisVoice(engine, name, controls.HasFlag(SynthesisControls.Rate) ? rate : 1, controls.HasFlag(SynthesisControls.Pitch) ? pitch : 1);
            var (kind, text) = positive ? ("phrase", options.Phrase + (rng.NextInt(3) switch { 0 => "", 1 => ".", _ => "!" })) : NegativeText(rng, nearMisses, soundAlikes, dictionary);
            var label = positive ? PositiveLabel : NegativeLabel;
            var index = positive ? i : i - options.Positives;
            jobs.Add(new Job(Path.Combine(isVal ? "val" : "train", label, $"{(positive ? "pos" : "neg")}_{index:D5}.wav"), isVal ? "val" : "train", label, kind, text, voice));
        }
        foreach (var split in new[] { "train", "val" })
        foreach (var label in new[] { PositiveLabel, NegativeLabel })
            Directory.CreateDirectory(Path.Combine(outputDir, split, label));

        var clips = Render(outputDir, jobs, engines, options.Threads, progress, ct);
        var manifest = new SynthesisManifest(options.Phrase, options.Seed, engines.Select(e => e.Engine).ToArray(),
            Speakers(train), Speakers(val), clips);
        manifest.Write(outputDir);
        return manifest;
    }

    private sealed record Job(string Path, string Split, string Label, string Kind, string Text, SynthesisVoice Voice);

    private static ISpeechSynthesizer[] ChooseEngines(IReadOnlyList<ISpeechSynthesizer> candidates, WakeWordDataOptions options)
    {
        var wanted = candidates.Where(s => (options.Engines is null || options.Engines.Contains(s.Engine, StringComparer.OrdinalIgnoreCase))
            && !options.ExcludedEngines.Contains(s.Engine, StringComparer.OrdinalIgnoreCase)).ToArray();
        var unknown = (options.Engines ?? []).Concat(options.ExcludedEngines)
            .Where(e => !candidates.Any(s => string.Equals(s.Engine, e, StringComparison.OrdinalIgnoreCase))).ToArray();
        if (unknown.Length > 0)
            throw new OnnxTransferException($"unknown synthesizer '{unknown[0]}'; choose from {string.Join(", ", candidates.Select(s => s.Engine))}.");
        if (options.Engines is not null)
            foreach (var s in wanted) s.EnsureAvailable(); // asked for by name: say why it cannot run
        else
            wanted = wanted.Where(IsInstalled).ToArray();
        if (wanted.Length == 0)
            throw new OnnxTransferException("no speech synthesizer is available; run tools/bootstrap (installs espeak-ng, flite and festival).");
        return wanted;
    }

    private static bool IsInstalled(ISpeechSynthesizer s)
    {
        try { s.EnsureAvailable(); return s.VoiceNames.Count > 0; }
        catch (OnnxTransferException) { return false; }
    }

    /// <summary>Per engine, its train and val voices: engines with at least 10 voices give a share to val; the others stay whole in train.</summary>
    private static (Dictionary<string, IReadOnlyList<string>> Train, Dictionary<string, IReadOnlyList<string>> Val) SplitSpeakers(
        IReadOnlyList<ISpeechSynthesizer> engines, IReadOnlySet<string> excludedPeople, double valFraction, SeededRandom rng)
    {
        var train = new Dictionary<string, IReadOnlyList<string>>(StringComparer.Ordinal);
        var val = new Dictionary<string, IReadOnlyList<string>>(StringComparer.Ordinal);
        foreach (var e in engines)
        {
            var voices = e.VoiceNames.Where(v => !excludedPeople.Contains(new SynthesisVoice(e.Engine, v).Speaker)).Order(StringComparer.Ordinal).ToArray();
            if (voices.Length == 0) continue;
            rng.Shuffle(voices.AsSpan());
            var held = voices.Length >= 10 ? (int)Math.Round(voices.Length * valFraction) : 0;
            if (held > 0) val[e.Engine] = voices[..held].Order(StringComparer.Ordinal).ToArray();
            train[e.Engine] = voices[held..].Order(StringComparer.Ordinal).ToArray();
        }
        return (train, val);
    }

    private static string[] Speakers(Dictionary<string, IReadOnlyList<string>> voices) =>
        voices.SelectMany(kv => kv.Value.Select(v => new SynthesisVoice(kv.Key, v).Speaker)).Distinct().Order(StringComparer.Ordinal).ToArray();

    /// <summary>At most this many sound-alike near misses (<see cref="PhoneticNeighbours.NearMisses"/>), closest first.</summary>
    internal const int SoundAlikeCount = 150;

    /// <summary>
    /// Near misses whose pronunciation differs from the phrase's by more than an accent would (a respelling that
    /// sounds the same, or one phoneme off a long phrase, is not a negative): per espeak-ng, not
    /// <see cref="PhoneticNeighbours.AccentVariant"/> (flite and festival say "jarvus" like "jarvis"; West Midlands
    /// English says "'ey jarvis"). All candidates stay when no espeak-ng is installed.
    /// </summary>
    /// <remarks>With <paramref name="closeSpellingsOnly"/> (a whole word list) only spellings within 3 edits of the phrase are transcribed.</remarks>
    private static IReadOnlyList<string> SoundDifferent(string phrase, IReadOnlyList<string> candidates, EspeakSynthesizer? espeak,
        bool closeSpellingsOnly = false)
    {
        if (espeak is null) return candidates;
        var spelled = phrase.Replace(" ", "").ToLowerInvariant();
        var check = candidates.Where(c => !closeSpellingsOnly || PhoneticNeighbours.LetterDistance(c, spelled) <= 3).ToArray();
        var sounds = espeak.RawPhonemes([phrase, .. check]);
        var alike = check.Where((c, k) => PhoneticNeighbours.AccentVariant(sounds[k + 1], sounds[0])).ToHashSet(StringComparer.Ordinal);
        return candidates.Where(c => !alike.Contains(c)).ToArray();
    }

    /// <summary>
    /// A negative: a near miss (30 %: half spelling edits, half sound-alike dictionary words when there are any), a
    /// common word or number (20 %), a dictionary word (15 %), an everyday sentence (25 %) or a run of dictionary
    /// words (10 %) — broad vocabulary is the stand-in for the hours of real speech openWakeWord trains against.
    /// </summary>
    private static (string Kind, string Text) NegativeText(SeededRandom rng, IReadOnlyList<string> nearMisses, IReadOnlyList<string> soundAlikes,
        IReadOnlyList<string> dictionary)
    {
        var r = rng.NextDouble();
        if (r < 0.15 && soundAlikes.Count > 0) return ("sound-alike", soundAlikes[rng.NextInt(soundAlikes.Count)]);
        if (r < 0.3 && nearMisses.Count > 0) return ("near-miss", nearMisses[rng.NextInt(nearMisses.Count)]);
        if (r < 0.5 || dictionary.Count == 0 && r < 0.65) return ("word", ConfusablePhrases.Words[rng.NextInt(ConfusablePhrases.Words.Count)]);
        if (r < 0.65) return ("dictionary-word", dictionary[rng.NextInt(dictionary.Count)]);
        if (r < 0.9 || dictionary.Count == 0) return ("sentence", ConfusablePhrases.Sentences[rng.NextInt(ConfusablePhrases.Sentences.Count)]);
        return ("words", string.Join(' ', Enumerable.Range(0, 3 + rng.NextInt(5)).Select(_ => dictionary[rng.NextInt(dictionary.Count)])));
    }

    private static double LogUniform(SeededRandom rng, (double Min, double Max) range) =>
        Math.Exp(Math.Log(range.Min) + (Math.Log(range.Max) - Math.Log(range.Min)) * rng.NextDouble());

    /// <summary>Renders the jobs in batches per engine (festival pays its start-up once per batch), spread over the threads.</summary>
    private static SynthesizedClip[] Render(string outputDir, IReadOnlyList<Job> jobs, IReadOnlyList<ISpeechSynthesizer> engines, int threads,
        IProgress<ProgressUpdate>? progress, CancellationToken ct)
    {
        const int batchSize = 40;
        var byEngine = engines.ToDictionary(e => e.Engine, StringComparer.Ordinal);
        var batches = jobs.Select((j, i) => (Job: j, Index: i)).GroupBy(x => x.Job.Voice.Engine)
            .SelectMany(g => g.Chunk(batchSize)).ToArray();
        var clips = new SynthesizedClip[jobs.Count];
        var done = 0;
        Parallel.ForEach(batches, new ParallelOptions { MaxDegreeOfParallelism = Math.Max(1, threads), CancellationToken = ct }, batch =>
        {
            var engine = byEngine[batch[0].Job.Voice.Engine];
            var audio = engine.Synthesize(batch.Select(b => new SynthesisRequest(b.Job.Text, b.Job.Voice)).ToArray(), ct);
            for (var k = 0; k < batch.Length; k++)
            {
                var (job, index) = batch[k];
                var speech = SignalLevel.TrimSilence(audio[k]);
                if (speech.Length == 0)
                    throw new OnnxTransferException($"{engine.Engine} voice '{job.Voice.Name}' produced silence for \"{job.Text}\"; check the synthesizer (`{engine.Engine}` on the command line).");
                WavWriter.Write(Path.Combine(outputDir, job.Path), speech, SpeechFrontEnd.SampleRate);
                clips[index] = new SynthesizedClip(job.Path, job.Split, job.Label, job.Kind, job.Text, job.Voice.Speaker, job.Voice.ToString(),
                    Math.Round((double)speech.Length / SpeechFrontEnd.SampleRate, 3));
            }
            var n = Interlocked.Add(ref done, batch.Length);
            progress?.Report(new ProgressUpdate("synthesize", n, jobs.Count, "clips"));
        });
        return clips;
    }
}
