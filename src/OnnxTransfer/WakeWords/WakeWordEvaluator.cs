using System.Globalization;
using System.Text;
using OnnxTransfer.Audio;
using OnnxTransfer.Evaluation;

namespace OnnxTransfer.WakeWords;

/// <summary>How <see cref="WakeWordEvaluator"/> counts.</summary>
public sealed record WakeWordEvaluationOptions
{
    /// <summary>Consecutive frames at or above a threshold needed to fire.</summary>
    public int Patience { get; init; } = 1;
    /// <summary>Seconds after a false accept during which the next one is not counted (same as the detector's debounce).</summary>
    public double DebounceSeconds { get; init; } = 1.5;
    /// <summary>Threshold at which the false accepts are listed (null: the model's own, else 0.5).</summary>
    public double? OperatingThreshold { get; init; }
    /// <summary>The false-accept rate the recommended threshold must meet.</summary>
    public double TargetFalseAcceptsPerHour { get; init; } = 0.5;
    /// <summary>Silence appended to each positive clip so the windows ending just after the phrase are scored too.</summary>
    public double PositivePaddingSeconds { get; init; } = 0.25;
    /// <summary>
    /// Silence put before each positive clip, so a short recording (a 1 s Speech Commands clip) still fills a
    /// whole 16-embedding window (2.08 s with the front end's warm-up) as it would in a continuous stream.
    /// </summary>
    public double PositiveLeadSeconds { get; init; } = 2.0;
    /// <summary>Thresholds of the DET curve: 0.01..0.99 by 0.01, 0.991..0.999 by 0.001, then 0.9995 and 0.9999.</summary>
    public IReadOnlyList<double> Thresholds { get; init; } =
        Enumerable.Range(1, 99).Select(i => i / 100.0).Concat(Enumerable.Range(991, 9).Select(i => i / 1000.0)).Concat([0.9995, 0.9999]).ToArray();
}

/// <summary>Embeddings of the evaluation audio, computed once and shared by every model evaluated.</summary>
/// <param name="PositiveNames">Positive clip paths.</param>
/// <param name="Positives">Per positive clip, its embeddings row-major [E,96].</param>
/// <param name="NegativeNames">Per negative stream, what it was made of.</param>
/// <param name="Negatives">Per negative stream, its embeddings row-major [E,96].</param>
/// <param name="NegativeSeconds">Total duration of the negative streams.</param>
/// <param name="NegativeFiles">Per negative stream, the files it was made of (positives never count as negatives).</param>
public sealed record WakeWordEvaluationAudio(IReadOnlyList<string> PositiveNames, IReadOnlyList<float[]> Positives,
    IReadOnlyList<string> NegativeNames, IReadOnlyList<float[]> Negatives, double NegativeSeconds, IReadOnlyList<IReadOnlyList<string>> NegativeFiles)
{
    /// <summary>Per negative stream, the second at which each of its files starts (empty when unknown).</summary>
    public IReadOnlyList<double[]> NegativeFileStarts { get; init; } = [];

    /// <summary>The file of negative stream <paramref name="stream"/> playing at <paramref name="seconds"/>, or the stream's name.</summary>
    public string NegativeFileAt(int stream, double seconds)
    {
        if (stream >= NegativeFileStarts.Count) return NegativeNames[stream];
        var starts = NegativeFileStarts[stream];
        var i = Array.BinarySearch(starts, seconds);
        if (i < 0) i = ~i - 1;
        return NegativeFiles[stream][Math.Clamp(i, 0, NegativeFiles[stream].Count - 1)];
    }

    private string[]? _clipSpeakers;

    /// <summary>The speakers (or voices) of the positive clips (<see cref="SpeakerIdentity.Of"/>).</summary>
    public IReadOnlyList<string> PositiveSpeakers => PositiveClipSpeakers.Distinct().Order(StringComparer.Ordinal).ToArray();

    /// <summary>Per positive clip, its speaker (or voice).</summary>
    internal IReadOnlyList<string> PositiveClipSpeakers => _clipSpeakers ??= PositiveNames.Select(SpeakerIdentity.Of).ToArray();

    /// <summary>The speakers (or voices) of the negative audio.</summary>
    public IReadOnlyList<string> NegativeSpeakers => NegativeFiles.SelectMany(f => f).Select(SpeakerIdentity.Of).Distinct().Order(StringComparer.Ordinal).ToArray();

    /// <summary>
    /// Loads and embeds the audio: each positive .wav (a folder means every .wav under it) between
    /// <see cref="WakeWordEvaluationOptions.PositiveLeadSeconds"/> and <see cref="WakeWordEvaluationOptions.PositivePaddingSeconds"/> of silence; each negative entry as ONE long
    /// stream (a folder: its .wav files back to back in name order).
    /// </summary>
    public static WakeWordEvaluationAudio Load(SpeechFrontEnd frontEnd, IReadOnlyList<string> positives, IReadOnlyList<string> negatives,
        WakeWordEvaluationOptions? options = null, int threads = 0, IProgress<ProgressUpdate>? progress = null, CancellationToken ct = default)
    {
        options ??= new WakeWordEvaluationOptions();
        var parallel = new ParallelOptions { MaxDegreeOfParallelism = threads > 0 ? threads : Environment.ProcessorCount, CancellationToken = ct };
        var positiveFiles = positives.SelectMany(p => WavFiles(p, "--positives")).ToArray();
        if (positiveFiles.Length == 0) throw new OnnxTransferException("no positive clips given; pass --positives DIR (e.g. DIR/test/positive from `wakeword synth`).");
        if (negatives.Count == 0) throw new OnnxTransferException("no negative audio given; pass --negatives DIR|FILE (long audio without the wake word).");
        var pad = (int)(options.PositivePaddingSeconds * SpeechFrontEnd.SampleRate);
        var lead = (int)(options.PositiveLeadSeconds * SpeechFrontEnd.SampleRate);
        var positiveEmbeddings = new float[positiveFiles.Length][];
        var done = 0;
        Parallel.For(0, positiveFiles.Length, parallel, i =>
        {
            var clip = WavReader.Read(positiveFiles[i]).ResampleTo(SpeechFrontEnd.SampleRate).Samples;
            var padded = new float[lead + clip.Length + pad];
            clip.CopyTo(padded, lead);
            positiveEmbeddings[i] = frontEnd.Embed(padded);
            var n = Interlocked.Increment(ref done);
            if (n % 20 == 0 || n == positiveFiles.Length) progress?.Report(new ProgressUpdate("embed positives", n, positiveFiles.Length, "clips"));
        });
        // A folder of negatives may hold the positives too (e.g. all of Speech Commands vs its "sheila"): a clip never counts as both.
        var positiveSet = positiveFiles.Select(Path.GetFullPath).ToHashSet(StringComparer.Ordinal);
        var streams = negatives.Select(n => WavFiles(n, "--negatives").Where(f => !positiveSet.Contains(Path.GetFullPath(f))).ToArray()).ToArray();
        if (streams.Any(s => s.Length == 0))
            throw new OnnxTransferException($"--negatives {negatives[Array.FindIndex(streams, s => s.Length == 0)]}: holds only positive clips; pass audio without the wake word.");
        var negativeEmbeddings = new float[streams.Length][];
        var seconds = new double[streams.Length];
        var starts = new double[streams.Length][];
        Parallel.For(0, streams.Length, parallel, s =>
        {
            var clips = streams[s].Select(f => WavReader.Read(f).ResampleTo(SpeechFrontEnd.SampleRate).Samples).ToArray();
            starts[s] = new double[clips.Length];
            for (var k = 1; k < clips.Length; k++) starts[s][k] = starts[s][k - 1] + (double)clips[k - 1].Length / SpeechFrontEnd.SampleRate;
            var audio = clips.SelectMany(c => c).ToArray();
            seconds[s] = (double)audio.Length / SpeechFrontEnd.SampleRate;
            negativeEmbeddings[s] = frontEnd.Embed(audio);
            progress?.Report(new ProgressUpdate("embed negatives", s + 1, streams.Length, "streams"));
        });
        return new WakeWordEvaluationAudio(positiveFiles, positiveEmbeddings, negatives.ToArray(), negativeEmbeddings, seconds.Sum(), streams)
        {
            NegativeFileStarts = starts,
        };
    }

    private static string[] WavFiles(string path, string option)
    {
        if (File.Exists(path)) return [path];
        if (Directory.Exists(path))
        {
            var files = Directory.EnumerateFiles(path, "*.wav", SearchOption.AllDirectories).Order(StringComparer.Ordinal).ToArray();
            return files.Length > 0 ? files : throw new OnnxTransferException($"{option} {path}: no .wav files in the folder; pass a folder of WAV clips.");
        }
        throw new OnnxTransferException($"{option} {path}: not found; pass a .wav file or a folder of them.");
    }
}

/// <summary>One model's evaluation.</summary>
/// <param name="Model">Model file or name.</param>
/// <param name="WakeWord">Wake word name.</param>
/// <param name="PositiveClips">Positive clips scored.</param>
/// <param name="NegativeHours">Hours of negative audio.</param>
/// <param name="Det">False-reject rate and false accepts per hour at each threshold.</param>
/// <param name="RecommendedThreshold">The lowest threshold meeting the target false-accept rate (the highest one tried if none does).</param>
/// <param name="TargetFalseAcceptsPerHour">The target used.</param>
/// <param name="AtRecommended">The DET point at the recommended threshold.</param>
/// <param name="AtDefault">The DET point at 0.5.</param>
/// <param name="PositiveScores">Per positive clip, its highest (patience-filtered) score.</param>
/// <param name="AtModelThreshold">The point at the threshold stored in the model (calibrated at training time on other audio), or null when it has none.</param>
public sealed record WakeWordEvaluation(string Model, string WakeWord, int PositiveClips, double NegativeHours,
    IReadOnlyList<DetPoint> Det, double RecommendedThreshold, double TargetFalseAcceptsPerHour, DetPoint AtRecommended, DetPoint AtDefault,
    IReadOnlyList<double> PositiveScores, DetPoint? AtModelThreshold = null)
{
    /// <summary>The detections on negative audio at the threshold the model ships with (its own, else 0.5), with the file that triggered each.</summary>
    public IReadOnlyList<FalseAccept> FalseAccepts { get; init; } = [];

    /// <summary>The threshold <see cref="FalseAccepts"/> are listed at (the asked one, else the model's own, else 0.5).</summary>
    public double OperatingThreshold { get; init; } = DetectionSettings.DefaultThreshold;

    /// <summary>95 % Wilson interval of the false-reject rate at <paramref name="point"/>, given <see cref="PositiveClips"/> clips.</summary>
    internal (double Low, double High) FalseRejectInterval(DetPoint point) =>
        WilsonInterval.Of((int)Math.Round(point.FalseRejectRate * PositiveClips), PositiveClips);

    /// <summary>"34.4 % (95 % interval 25.6–44.3 %)": the rate at <paramref name="point"/> with its interval.</summary>
    internal string FalseRejectText(DetPoint point)
    {
        var (low, high) = FalseRejectInterval(point);
        return string.Create(CultureInfo.InvariantCulture, $"{point.FalseRejectRate:P1} (95 % interval {low * 100:F1}–{high * 100:F1} %)");
    }
}

/// <summary>One false accept on negative audio.</summary>
/// <param name="File">The file playing when it fired.</param>
/// <param name="Time">Seconds into the negative stream.</param>
/// <param name="Score">The frame's score.</param>
public sealed record FalseAccept(string File, double Time, float Score);

/// <summary>
/// Wake-word evaluation as a user meets it: false-reject rate on positive clips (a clip is accepted when any
/// frame fires), false accepts per hour on long negative streams (debounced detections, as the detector
/// counts them), a DET curve over thresholds and the threshold that meets a target false-accept rate.
/// </summary>
public static class WakeWordEvaluator
{
    private const double FrameSeconds = (double)SpeechFrontEnd.ChunkSamples / SpeechFrontEnd.SampleRate;

    /// <summary>Scores <paramref name="audio"/> with <paramref name="model"/> and builds the evaluation.</summary>
    public static WakeWordEvaluation Evaluate(IWakeWordScorer model, string modelName, WakeWordEvaluationAudio audio, WakeWordEvaluationOptions? options = null)
    {
        options ??= new WakeWordEvaluationOptions();
        var positives = audio.Positives.Select(e => PatienceScores(FrameScores(model, e), options.Patience))
            .Select(s => s.Length == 0 ? 0.0 : s.Max()).ToArray();
        var negatives = audio.Negatives.Select(e => FrameScores(model, e)).ToArray();
        var hours = audio.NegativeSeconds / 3600;
        DetPoint At(double t) => new(t, positives.Count(p => p < t) / (double)positives.Length,
            negatives.Sum(s => CountFalseAccepts(s, FrameSeconds, t, options.Patience, options.DebounceSeconds)) / hours);
        var det = options.Thresholds.Order().Select(At).ToArray();
        var recommended = RecommendThreshold(det, options.TargetFalseAcceptsPerHour);
        // The false accepts a user would see at the threshold the model ships with (0.5 without one): which files trigger it.
        var shipped = options.OperatingThreshold ?? model.Threshold ?? DetectionSettings.DefaultThreshold;
        var falseAccepts = negatives.SelectMany((s, i) => Detections(s, shipped, options).Select(d =>
            new FalseAccept(audio.NegativeFileAt(i, d.Time - 0.1), Math.Round(d.Time, 2), MathF.Round(d.Score, 4)))).ToArray(); // the phrase ends 0-200 ms before the window does
        return new WakeWordEvaluation(modelName, model.Name, positives.Length, hours, det, recommended, options.TargetFalseAcceptsPerHour,
            det.First(p => p.Threshold == recommended), Nearest(det, 0.5), positives, model.Threshold is { } own ? At(own) : null)
        {
            FalseAccepts = falseAccepts,
            OperatingThreshold = shipped,
        };
    }

    // Window k ends with embedding k + 15, which streaming emits after chunk k + 15 + the warm-up.
    private static IEnumerable<(double Time, float Score)> Detections(float[] scores, double threshold, WakeWordEvaluationOptions options) =>
        FiringFrames(scores, FrameSeconds, threshold, options.Patience, options.DebounceSeconds)
            .Select(k => ((k + 15 + SpeechFrontEnd.WarmupChunks) * FrameSeconds, scores[k]));

    /// <summary>The frames at which a <see cref="DetectionGate"/> with these settings fires on <paramref name="scores"/>.</summary>
    private static IEnumerable<int> FiringFrames(IReadOnlyList<float> scores, double frameSeconds, double threshold, int patience, double debounceSeconds)
    {
        var gate = new DetectionGate(new DetectionSettings { Threshold = threshold, Patience = patience, DebounceSeconds = debounceSeconds });
        for (var k = 0; k < scores.Count; k++)
            if (gate.Update((k + 1) * frameSeconds, scores[k])) yield return k;
    }

    /// <summary>
    /// False accepts in one stream of per-frame <paramref name="scores"/> (frames <paramref name="frameSeconds"/>
    /// apart): detections of a <see cref="DetectionGate"/> with this threshold, patience and debounce.
    /// </summary>
    public static int CountFalseAccepts(IReadOnlyList<float> scores, double frameSeconds, double threshold, int patience, double debounceSeconds) =>
        FiringFrames(scores, frameSeconds, threshold, patience, debounceSeconds).Count();

    /// <summary>The lowest threshold whose false accepts per hour are at most <paramref name="target"/>; the highest threshold when none is.</summary>
    public static double RecommendThreshold(IReadOnlyList<DetPoint> det, double target)
    {
        var meeting = det.Where(p => p.FalseAcceptsPerHour <= target).ToArray();
        return meeting.Length > 0 ? meeting.Min(p => p.Threshold) : det.Max(p => p.Threshold);
    }

    /// <summary>Scores of every 16-embedding window of row-major embeddings [E,96] (E − 15 frames).</summary>
    public static float[] FrameScores(IWakeWordScorer model, float[] embeddings)
    {
        var windows = WakeWordTrainer.StreamWindows(embeddings, model.WindowEmbeddings);
        var scores = new float[windows.Length / (model.WindowEmbeddings * SpeechFrontEnd.EmbeddingSize)];
        if (scores.Length > 0) model.Score(windows, scores);
        return scores;
    }

    /// <summary>Per frame, the lowest score among it and the previous patience − 1 frames (what must clear a threshold to fire).</summary>
    public static float[] PatienceScores(float[] scores, int patience)
    {
        if (patience <= 1) return scores;
        var result = new float[Math.Max(0, scores.Length - patience + 1)];
        for (var i = 0; i < result.Length; i++)
        {
            var min = float.MaxValue;
            for (var k = 0; k < patience; k++) min = Math.Min(min, scores[i + k]);
            result[i] = min;
        }
        return result;
    }

    /// <summary>
    /// Writes report.json, report.md, det.png and report.html (DET curve with a threshold slider, false accepts and rejects as
    /// playable snippets; <see cref="WakeWordReportPage"/>) for <paramref name="results"/> into <paramref name="directory"/>.
    /// </summary>
    public static void WriteReport(string directory, IReadOnlyList<WakeWordEvaluation> results, WakeWordEvaluationAudio audio)
    {
        Directory.CreateDirectory(directory);
        var report = new WakeWordReportFile(audio.PositiveNames.Count, audio.PositiveNames, audio.PositiveSpeakers,
            audio.NegativeNames.Select((n, i) => new NegativeStreamEntry(n, audio.NegativeFiles[i].Count)).ToArray(), audio.NegativeSpeakers,
            audio.NegativeSeconds / 3600,
            results.Select(r => new WakeWordReportModel(r.Model, r.WakeWord, r.RecommendedThreshold, r.TargetFalseAcceptsPerHour,
                r.AtRecommended, r.AtDefault, r.AtModelThreshold, r.PositiveScores, r.FalseAccepts, r.Det,
                MissesBySpeaker(r, audio))).ToArray());
        var json = JsonText.Write(report, WakeWordsJson.Default.WakeWordReportFile);
        AtomicFile.WriteText(Path.Combine(directory, "report.json"), json);
        AtomicFile.WriteText(Path.Combine(directory, "report.md"), Markdown(results, audio));
        Plots.Det(Path.Combine(directory, "det.png"), results.Select(r => new DetSeries($"{r.WakeWord} ({Path.GetFileName(r.Model)})", r.Det)).ToArray());
        AtomicFile.WriteText(Path.Combine(directory, Evaluation.Html.ReportPage.FileName), WakeWordReportPage.Build(results, audio));
    }

    /// <summary>A Markdown summary table.</summary>
    public static string Markdown(IReadOnlyList<WakeWordEvaluation> results, WakeWordEvaluationAudio audio)
    {
        var c = CultureInfo.InvariantCulture;
        var sb = new StringBuilder();
        sb.AppendLine("# Wake-word evaluation").AppendLine();
        var streams = string.Join(", ", audio.NegativeNames.Select((n, i) => $"{n}: {audio.NegativeFiles[i].Count} files"));
        sb.AppendLine(string.Create(c, $"{audio.PositiveNames.Count} positive clips by {audio.PositiveSpeakers.Count} speakers/voices ({string.Join(", ", audio.PositiveSpeakers)}); ") +
            string.Create(c, $"{audio.NegativeSeconds / 60:F1} min of negative audio ({streams}) by {audio.NegativeSpeakers.Count} speakers/voices. ") +
            "report.json lists every positive file.").AppendLine();
        sb.AppendLine("| model | wake word | FRR @0.5 | FA/h @0.5 | model's own threshold | FRR | FA/h | threshold for the target on this audio | FRR | FA/h |");
        sb.AppendLine("|---|---|---|---|---|---|---|---|---|---|");
        foreach (var r in results)
        {
            var own = r.AtModelThreshold is { } m ? $"{m.Threshold:0.###} | {m.FalseRejectRate:P1} | {m.FalseAcceptsPerHour:F2}" : "– | – | –";
            sb.AppendLine(c, $"| {Path.GetFileName(r.Model)} | {r.WakeWord} | {r.AtDefault.FalseRejectRate:P1} | {r.AtDefault.FalseAcceptsPerHour:F2} | {own} | {r.RecommendedThreshold} (≤ {r.TargetFalseAcceptsPerHour} FA/h) | {r.FalseRejectText(r.AtRecommended)} | {r.AtRecommended.FalseAcceptsPerHour:F2} |");
        }
        if (audio.PositiveSpeakers.Count > 1)
        {
            sb.AppendLine().AppendLine("Missed at the threshold for the target, by speaker or voice (most first):").AppendLine();
            foreach (var r in results)
                sb.AppendLine(c, $"- {Path.GetFileName(r.Model)}: {MissesText(MissesBySpeaker(r, audio))}");
        }
        sb.AppendLine().AppendLine("![DET](det.png)");
        return sb.ToString();
    }

    /// <summary>
    /// Per speaker (or voice) of the positive clips, how many <paramref name="result"/> misses at its recommended threshold,
    /// most misses first: one voice or accent the model does not hear shows here, where the overall rate hides it.
    /// </summary>
    internal static IReadOnlyList<SpeakerMisses> MissesBySpeaker(WakeWordEvaluation result, WakeWordEvaluationAudio audio) =>
        MissesBySpeaker(result.PositiveScores, audio.PositiveClipSpeakers, result.RecommendedThreshold);

    /// <summary>Per speaker in <paramref name="speakers"/> (one per clip), how many of its clips score below <paramref name="threshold"/>, most first.</summary>
    internal static IReadOnlyList<SpeakerMisses> MissesBySpeaker(IReadOnlyList<double> scores, IReadOnlyList<string> speakers, double threshold) =>
        Enumerable.Range(0, scores.Count).GroupBy(i => speakers[i], StringComparer.Ordinal)
            .Select(g => new SpeakerMisses(g.Key, g.Count(), g.Count(i => scores[i] < threshold)))
            .OrderByDescending(m => m.Missed).ThenBy(m => m.Speaker, StringComparer.Ordinal).ToArray();

    /// <summary>"flite:awb 18 of 30, the other 3: 0 of 90": the first few speakers with misses, then the rest summed.</summary>
    internal static string MissesText(IReadOnlyList<SpeakerMisses> misses)
    {
        const int Shown = 8;
        var named = misses.Where(m => m.Missed > 0).Take(Shown).ToArray();
        var rest = misses.Skip(named.Length).ToArray();
        var parts = named.Select(m => $"{SpeakerName(m.Speaker)} {m.Missed} of {m.Clips}").ToList();
        if (rest.Length > 0) parts.Add($"{(named.Length == 0 ? "all" : "the other")} {rest.Length}: {rest.Sum(m => m.Missed)} of {rest.Sum(m => m.Clips)}");
        return string.Join(", ", parts);
    }

    // A file standing for its own speaker ("file:PATH") is named by its file name.
    private static string SpeakerName(string speaker) => speaker.StartsWith("file:", StringComparison.Ordinal) ? Path.GetFileName(speaker) : speaker;

    private static DetPoint Nearest(IReadOnlyList<DetPoint> det, double threshold) => det.MinBy(p => Math.Abs(p.Threshold - threshold))!;
}
