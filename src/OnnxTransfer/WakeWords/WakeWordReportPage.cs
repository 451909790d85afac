using System.Globalization;
using OnnxTransfer.Evaluation.Html;

namespace OnnxTransfer.WakeWords;

/// <summary>
/// The <c>report.html</c> of a wake-word evaluation: per model, the DET curve with a threshold slider showing the false-reject
/// rate and false accepts per hour, the missed positive clips at that threshold and the false accepts at the operating
/// threshold, the worst of them as short embedded audio.
/// </summary>
internal static class WakeWordReportPage
{
    /// <summary>Clips of each kind (false accepts; lowest-scoring positives) embedded per model: bounds the file size.</summary>
    public const int MaxClips = 20;

    /// <summary>Seconds of audio per embedded clip.</summary>
    public const double ClipSeconds = 1.8;

    /// <summary>The page text.</summary>
    public static string Build(IReadOnlyList<WakeWordEvaluation> results, WakeWordEvaluationAudio audio)
    {
        var c = CultureInfo.InvariantCulture;
        var title = results.Count == 1 ? $"Wake-word evaluation of {Path.GetFileName(results[0].Model)}" : $"Wake-word evaluation of {results.Count} models";
        var positiveAudio = new Dictionary<int, string?>();
        return ReportPage.Build(title, w =>
        {
            w.WriteString("kind", "wakeword");
            w.WriteNumber("positives", audio.PositiveNames.Count);
            ReportPage.Number(w, "negative_hours", audio.NegativeSeconds / 3600);
            ReportPage.Map(w, "context", new Dictionary<string, string>
            {
                ["positive_clips"] = audio.PositiveNames.Count.ToString(c),
                ["positive_speakers"] = Listed(audio.PositiveSpeakers),
                ["negative_audio"] = string.Join(", ", audio.NegativeNames.Select((n, i) => $"{n} ({audio.NegativeFiles[i].Count} files)")),
                ["negative_minutes"] = (audio.NegativeSeconds / 60).ToString("0.0", c),
                ["negative_speakers"] = Listed(audio.NegativeSpeakers),
            });
            w.WriteStartArray("models");
            foreach (var r in results)
            {
                w.WriteStartObject();
                w.WriteString("name", Path.GetFileName(r.Model));
                w.WriteString("wake_word", r.WakeWord);
                w.WriteNumber("recommended", r.RecommendedThreshold);
                w.WriteNumber("operating", r.OperatingThreshold);
                w.WriteStartArray("det");
                foreach (var p in r.Det)
                {
                    w.WriteStartObject();
                    w.WriteNumber("threshold", p.Threshold);
                    w.WriteNumber("frr", p.FalseRejectRate);
                    w.WriteNumber("fa_per_hour", p.FalseAcceptsPerHour);
                    w.WriteEndObject();
                }
                w.WriteEndArray();
                // The lowest-scoring positives are the ones missed at most thresholds: they get audio.
                var worst = Enumerable.Range(0, r.PositiveScores.Count).OrderBy(i => r.PositiveScores[i]).Take(MaxClips).ToHashSet();
                foreach (var i in worst)
                    if (!positiveAudio.ContainsKey(i)) positiveAudio[i] = AudioSnippet.WavDataUri(audio.PositiveNames[i], 0, ClipSeconds);
                w.WriteStartArray("positives");
                for (var i = 0; i < r.PositiveScores.Count; i++)
                {
                    w.WriteStartObject();
                    w.WriteString("file", audio.PositiveNames[i]);
                    w.WriteNumber("score", r.PositiveScores[i]);
                    if (worst.Contains(i) && positiveAudio[i] is { } uri) w.WriteString("audio", uri);
                    w.WriteEndObject();
                }
                w.WriteEndArray();
                w.WriteNumber("false_accepts_listed", Math.Min(MaxClips, r.FalseAccepts.Count));
                w.WriteStartArray("false_accepts");
                for (var i = 0; i < r.FalseAccepts.Count; i++)
                {
                    var fa = r.FalseAccepts[i];
                    w.WriteStartObject();
                    w.WriteString("file", fa.File);
                    w.WriteNumber("time", fa.Time);
                    w.WriteNumber("score", fa.Score);
                    if (i < MaxClips && FalseAcceptClip(audio, fa) is { } uri) w.WriteString("audio", uri);
                    w.WriteEndObject();
                }
                w.WriteEndArray();
                w.WriteEndObject();
            }
            w.WriteEndArray();
        });
    }

    // A count and the first few names: thousands of clip names would bury the summary.
    private static string Listed(IReadOnlyList<string> names)
    {
        // A file standing for its own speaker ("file:PATH") is named by its file name.
        var shown = names.Take(8).Select(n => n.StartsWith("file:", StringComparison.Ordinal) ? Path.GetFileName(n) : n);
        return $"{names.Count}: {string.Join(", ", shown)}{(names.Count > 8 ? ", ..." : "")}";
    }

    // The detection time is where the window ends in the stream: play the second and a half before it from the file then playing.
    private static string? FalseAcceptClip(WakeWordEvaluationAudio audio, FalseAccept fa)
    {
        for (var s = 0; s < audio.NegativeFiles.Count; s++)
        {
            var k = audio.NegativeFiles[s].ToList().IndexOf(fa.File);
            if (k < 0) continue;
            var fileStart = s < audio.NegativeFileStarts.Count && audio.NegativeFileStarts[s].Length > k ? audio.NegativeFileStarts[s][k] : 0;
            return AudioSnippet.WavDataUri(fa.File, fa.Time - fileStart - (ClipSeconds - 0.2), ClipSeconds);
        }
        return File.Exists(fa.File) ? AudioSnippet.WavDataUri(fa.File, 0, ClipSeconds) : null;
    }
}
