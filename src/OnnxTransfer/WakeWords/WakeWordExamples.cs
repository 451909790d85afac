using System.Security.Cryptography;
using System.Text;
using OnnxTransfer.Audio;
using OnnxTransfer.Features;
using OnnxTransfer.Training.Engine;

namespace OnnxTransfer.WakeWords;

/// <summary>One clean clip to turn into training examples.</summary>
/// <param name="Path">The .wav file.</param>
/// <param name="Id">The clip's identity, relative to its folder (a dataset item id): examples are named after it, so the same clips
/// train the same model wherever their folder lies (the validation split ranks these names).</param>
/// <param name="Positive">Whether it holds the wake phrase.</param>
/// <param name="Copies">Augmented copies to make of it.</param>
internal sealed record ExampleSource(string Path, string Id, bool Positive, int Copies);

/// <summary>
/// Turns clean clips into augmented head inputs: every copy of a clip is freshly augmented
/// (<see cref="WakeWordAugmenter"/>) into a clip of the window's length and encoded as the [16,96] embedding
/// window ending at its end (flattened to 1536 values). Also builds long negative streams, all of whose
/// 80 ms windows are scored when mining hard negatives and calibrating the threshold. Results are cached as
/// feature stores keyed by the inputs, the options and the seed, so a rerun or another training round reuses them.
/// </summary>
internal sealed class WakeWordExamples(SpeechFrontEnd frontEnd, WakeWordAugmenter augmenter, ulong seed, int threads)
{
    /// <summary>Values per example: 16 embeddings × 96.</summary>
    public const int Dimension = WindowEmbeddings * SpeechFrontEnd.EmbeddingSize;
    private const int WindowEmbeddings = 16;
    private const int ClipSamples = (WindowEmbeddings + SpeechFrontEnd.WarmupChunks) * SpeechFrontEnd.ChunkSamples; // what the encoder reads

    /// <summary>
    /// Augmented examples of <paramref name="sources"/> (labels "positive"/"negative", ids ID#copy), plus
    /// <paramref name="backgrounds"/> background-only negatives; read from <paramref name="cacheDir"/> when cached.
    /// </summary>
    public Task<FeatureTable> BuildAsync(string tag, IReadOnlyList<ExampleSource> sources, int backgrounds, string? cacheDir,
        IProgress<ProgressUpdate>? progress, CancellationToken ct)
    {
        var jobs = sources.SelectMany(s => Enumerable.Range(0, s.Copies).Select(c => (s.Path, s.Id, s.Positive, Copy: c)))
            .Concat(Enumerable.Range(0, backgrounds).Select(b => (Path: "background", Id: "background", Positive: false, Copy: b))).ToArray();
        var key = CacheKey(tag, jobs.Select(j => $"{j.Path}#{j.Copy}:{j.Positive}"));
        return CachedAsync(cacheDir, tag, key, () =>
        {
            var features = new float[jobs.Length * Dimension];
            var encoder = new AudioClipEncoder(frontEnd, WindowEmbeddings);
            // One task per clip (read, resampled and trimmed once), then its copies; backgrounds follow the clips.
            var firstJob = new int[sources.Count + backgrounds];
            for (var s = 1; s < firstJob.Length; s++) firstJob[s] = firstJob[s - 1] + (s - 1 < sources.Count ? sources[s - 1].Copies : 1);
            var done = 0;
            System.Threading.Tasks.Parallel.For(0, firstJob.Length, Workers(ct), s =>
            {
                var isSource = s < sources.Count;
                var speech = isSource ? LoadSpeech(sources[s].Path) : [];
                for (var i = firstJob[s]; i < firstJob[s] + (isSource ? sources[s].Copies : 1); i++)
                {
                    var (path, _, positive, copy) = jobs[i];
                    var (clip, _) = augmenter.Make(speech, ClipSamples, positive, Rng(path, copy));
                    encoder.Encode(clip, features.AsSpan(i * Dimension, Dimension));
                    var n = Interlocked.Increment(ref done);
                    if (n % 50 == 0 || n == jobs.Length) progress?.Report(new ProgressUpdate($"{tag} examples", n, jobs.Length, "clips"));
                }
            });
            return new FeatureTable(jobs.Select(j => $"{j.Id}#{j.Copy:D3}").ToArray(),
                jobs.Select(j => j.Positive ? WakeWordDataGenerator.PositiveLabel : WakeWordDataGenerator.NegativeLabel).ToArray(),
                jobs.Select(_ => "train").ToArray(), features, Dimension);
        }, ct);
    }

    /// <summary>
    /// Every window of long negative streams made of <paramref name="negatives"/> (augmented, with 0.2–2 s of
    /// background between them), about <paramref name="minutes"/> minutes in all: [windows, 1536], labelled negative.
    /// Returns the table and the streams' total seconds.
    /// </summary>
    public async Task<(FeatureTable Windows, double Seconds)> StreamsAsync(string tag, IReadOnlyList<string> negatives, double minutes, string? cacheDir,
        IProgress<ProgressUpdate>? progress, CancellationToken ct)
    {
        const int streamSeconds = 60;
        var count = Math.Max(1, (int)Math.Ceiling(minutes * 60 / streamSeconds));
        var key = CacheKey(tag, negatives.Append($"streams={count}x{streamSeconds}"));
        var rate = SpeechFrontEnd.SampleRate;
        var table = await CachedAsync(cacheDir, tag, key, () =>
        {
            var windows = new FeatureTable[count];
            var done = 0;
            System.Threading.Tasks.Parallel.For(0, count, Workers(ct), s =>
            {
                var rng = Rng($"{tag}-stream", s);
                var audio = new float[streamSeconds * rate];
                var at = 0;
                while (at < audio.Length && negatives.Count > 0)
                {
                    ct.ThrowIfCancellationRequested();
                    var speech = LoadSpeech(negatives[rng.NextInt(negatives.Count)]);
                    var length = Math.Min(audio.Length - at, speech.Length + (int)((0.2 + 1.8 * rng.NextDouble()) * rate));
                    var (clip, _) = augmenter.Make(speech, length, positive: false, rng);
                    // Placed at random in its segment, so some utterances are cut by the segment's edges, as in overheard speech.
                    clip.CopyTo(audio.AsSpan(at, length));
                    at += length;
                }
                var embeddings = frontEnd.Embed(audio);
                var flat = WakeWordTrainer.StreamWindows(embeddings, WindowEmbeddings);
                var rows = flat.Length / Dimension;
                windows[s] = new FeatureTable(Enumerable.Range(0, rows).Select(r => $"{tag}-stream{s:D4}#{r:D6}").ToArray(),
                    Enumerable.Repeat(WakeWordDataGenerator.NegativeLabel, rows).ToArray(), Enumerable.Repeat("train", rows).ToArray(), flat, Dimension);
                progress?.Report(new ProgressUpdate($"{tag} streams", Interlocked.Increment(ref done), count, "min"));
            });
            return Concat(windows);
        }, ct).ConfigureAwait(false);
        return (table, count * (double)streamSeconds);
    }

    /// <summary>Rows of several tables one after another.</summary>
    public static FeatureTable Concat(IReadOnlyList<FeatureTable> tables) => new(
        tables.SelectMany(t => t.Paths).ToArray(), tables.SelectMany(t => t.Labels).ToArray(), tables.SelectMany(t => t.Splits).ToArray(),
        tables.SelectMany(t => t.Features.Take(t.Count * t.Dimension)).ToArray(), Dimension);

    private static async Task<FeatureTable> CachedAsync(string? cacheDir, string tag, string key, Func<FeatureTable> build, CancellationToken ct)
    {
        // Rows come back in id order (the store sorts by id), so a fresh build is sorted the same way: a rerun
        // that reads the cache trains on exactly the rows, in exactly the order, of the run that wrote it.
        if (cacheDir is null) return SortById(build());
        var path = Path.Combine(cacheDir, $"{tag}-{key}.parquet");
        if (File.Exists(path))
        {
            try { return await FeatureStore.ReadAsync(path, ct).ConfigureAwait(false); }
            catch (OnnxTransferException) { File.Delete(path); } // a damaged cache is rebuilt, never trusted
        }
        var table = SortById(build());
        Directory.CreateDirectory(cacheDir);
        await FeatureStore.WriteAsync(path, table, new FeatureStoreMetadata(WakeWordTrainer.FrontEndName, "", "embeddings[16,96]", $"wakeword-augmented:{key}", Dimension), ct)
            .ConfigureAwait(false);
        return table;
    }

    private static FeatureTable SortById(FeatureTable t)
    {
        var order = Enumerable.Range(0, t.Count).OrderBy(i => t.Paths[i], StringComparer.Ordinal).ToArray();
        var features = new float[t.Count * t.Dimension];
        for (var k = 0; k < order.Length; k++) t.Row(order[k]).CopyTo(features.AsSpan(k * t.Dimension));
        return new FeatureTable(order.Select(i => t.Paths[i]).ToArray(), order.Select(i => t.Labels[i]).ToArray(),
            order.Select(i => t.Splits[i]).ToArray(), features, t.Dimension);
    }

    private string CacheKey(string tag, IEnumerable<string> items)
    {
        var text = new StringBuilder().Append(tag).Append('|').Append(seed).Append('|').Append(augmenter.Options).Append('|').Append(AugmentationVersion);
        foreach (var i in items)
        {
            text.Append('|').Append(i);
            var path = i.Split('#')[0];
            if (File.Exists(path)) text.Append(':').Append(new FileInfo(path).Length).Append(':').Append(File.GetLastWriteTimeUtc(path).Ticks);
        }
        return Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(text.ToString())))[..16].ToLowerInvariant();
    }

    /// <summary>Bumped whenever the augmentation code changes what a seed produces, so old caches are not reused.</summary>
    private const int AugmentationVersion = 1;

    private SeededRandom Rng(string path, int copy)
    {
        var h = SHA256.HashData(Encoding.UTF8.GetBytes(Path.GetFileName(Path.GetDirectoryName(path) ?? "") + "/" + Path.GetFileName(path)));
        return new SeededRandom(seed * 0x9E37_79B9_7F4A_7C15UL ^ BitConverter.ToUInt64(h) ^ ((ulong)copy + 1) * 0xBF58_476D_1CE4_E5B9UL);
    }

    private static float[] LoadSpeech(string path)
    {
        var clip = WavReader.Read(path).ResampleTo(SpeechFrontEnd.SampleRate).Samples;
        var trimmed = SignalLevel.TrimSilence(clip);
        if (trimmed.Length == 0) throw new AudioFormatException($"{path}: the clip is silent; remove it or record it again.");
        return trimmed;
    }

    private ParallelOptions Workers(CancellationToken ct) => new() { MaxDegreeOfParallelism = Math.Max(1, threads), CancellationToken = ct };
}
