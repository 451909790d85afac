using System.Globalization;
using System.Text.Json;

namespace OnnxTransfer.Evaluation.Html;

/// <summary>What goes into a classification report page.</summary>
public sealed record ClassificationPageOptions
{
    /// <summary>Correct items with the lowest score for their class shown after the mistakes.</summary>
    public int LeastConfidentCorrect { get; init; } = 24;

    /// <summary>Gallery items that get an embedded preview (the rest show their name and scores): bounds the file size.</summary>
    public int MaxPreviews { get; init; } = 400;

    /// <summary>Longest side of an image preview in pixels.</summary>
    public int ThumbnailSize { get; init; } = 112;

    /// <summary>Seconds of an audio item embedded in the gallery.</summary>
    public double AudioSeconds { get; init; } = 2;
}

/// <summary>
/// The <c>report.html</c> of a classification evaluation: summary, metrics, confusion matrix, ROC/PR, reliability, learning
/// curve, a gallery of misclassified and least-confident items with previews, and (binary) a live threshold slider.
/// </summary>
internal static class ClassificationPage
{
    // Above this many classes page scores are rounded (the binary slider needs exact ones; big models need small files).
    private const int ExactScoreClasses = 20;

    /// <summary>The page text of <paramref name="report"/>; its <see cref="EvaluationReport.Predictions"/> feed the gallery and curves.</summary>
    public static string Build(EvaluationReport report, ClassificationPageOptions? options = null)
    {
        options ??= new ClassificationPageOptions();
        var classes = report.Classes;
        var index = classes.Select((c, k) => (c, k)).ToDictionary(p => p.c, p => p.k, StringComparer.Ordinal);
        var rows = report.Predictions ?? [];
        if (rows.SelectMany(r => new[] { r.TrueLabel, r.PredictedLabel }).FirstOrDefault(l => !index.ContainsKey(l)) is { } unknown)
            throw new OnnxTransferException($"prediction label '{unknown}' is not one of the report's classes ({string.Join(", ", classes)}); build the rows with the same class list.");
        if (rows.FirstOrDefault(r => r.Scores.Count != classes.Count) is { } short_)
            throw new OnnxTransferException($"prediction for {short_.Path} has {short_.Scores.Count} scores for {classes.Count} classes; pass one score per class.");
        var gallery = Gallery(rows, index, options.LeastConfidentCorrect);
        var title = report.Context.TryGetValue("model", out var model) ? $"Evaluation of {Path.GetFileName(model)}" : "Evaluation report";
        return ReportPage.Build(title, w =>
        {
            w.WriteString("kind", "classification");
            ReportPage.Map(w, "context", report.Context);
            w.WriteStartArray("classes");
            foreach (var c in classes) w.WriteStringValue(c);
            w.WriteEndArray();
            w.WriteNumber("n", report.N);
            w.WriteStartObject("metrics");
            ReportPage.Number(w, "accuracy", report.Accuracy);
            ReportPage.Number(w, "balanced_accuracy", report.BalancedAccuracy);
            ReportPage.Number(w, "macro_f1", report.MacroF1);
            ReportPage.Number(w, "roc_auc", report.RocAuc);
            ReportPage.Number(w, "log_loss", report.LogLoss);
            w.WriteEndObject();
            w.WriteStartArray("per_class");
            foreach (var m in report.PerClass)
            {
                w.WriteStartObject();
                w.WriteString("name", m.Name);
                ReportPage.Number(w, "precision", m.Precision);
                ReportPage.Number(w, "recall", m.Recall);
                ReportPage.Number(w, "f1", m.F1);
                w.WriteNumber("support", m.Support);
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteStartArray("confusion");
            foreach (var row in report.ConfusionMatrix)
            {
                w.WriteStartArray();
                foreach (var v in row) w.WriteNumberValue(v);
                w.WriteEndArray();
            }
            w.WriteEndArray();
            WriteItems(w, rows, index, classes.Count <= ExactScoreClasses);
            WriteGallery(w, rows, gallery, options);
            if (report.LearningCurve is { Epochs.Count: > 0 } curve) WriteHistory(w, curve);
        });
    }

    // The mistakes (all of them), then the correct items least sure of their class.
    private static List<(int Row, string Kind)> Gallery(IReadOnlyList<PredictionRow> rows, Dictionary<string, int> index, int leastConfident)
    {
        var wrong = Enumerable.Range(0, rows.Count).Where(i => rows[i].IsMisclassified)
            .OrderBy(i => rows[i].Scores[index[rows[i].TrueLabel]]).Select(i => (i, "wrong"));
        var unsure = Enumerable.Range(0, rows.Count).Where(i => !rows[i].IsMisclassified)
            .OrderBy(i => rows[i].Scores[index[rows[i].TrueLabel]]).Take(leastConfident).Select(i => (i, "unsure"));
        return wrong.Concat(unsure).ToList();
    }

    private static void WriteItems(Utf8JsonWriter w, IReadOnlyList<PredictionRow> rows, Dictionary<string, int> index, bool exact)
    {
        w.WriteStartArray("items");
        foreach (var r in rows)
        {
            w.WriteStartObject();
            w.WriteString("path", r.Path);
            w.WriteNumber("t", index[r.TrueLabel]);
            w.WriteNumber("p", index[r.PredictedLabel]);
            w.WriteString("split", r.Split);
            w.WriteStartArray("s");
            // The same text as predictions.csv, so the page and a reader of the CSV compare the same numbers.
            foreach (var s in r.Scores)
                w.WriteRawValue(exact ? s.ToString("R", CultureInfo.InvariantCulture) : Math.Round(s, 4).ToString("R", CultureInfo.InvariantCulture));
            w.WriteEndArray();
            w.WriteEndObject();
        }
        w.WriteEndArray();
    }

    private static void WriteGallery(Utf8JsonWriter w, IReadOnlyList<PredictionRow> rows, List<(int Row, string Kind)> gallery, ClassificationPageOptions options)
    {
        // Previews are the slow part (decode + encode): made in parallel, written in order.
        var previews = new string?[gallery.Count];
        Parallel.For(0, Math.Min(gallery.Count, options.MaxPreviews), g =>
        {
            var path = rows[gallery[g].Row].Path;
            var extension = Path.GetExtension(path);
            previews[g] = Thumbnail.ImageExtensions.Contains(extension) ? Thumbnail.ImageDataUri(path, options.ThumbnailSize)
                : extension.Equals(".wav", StringComparison.OrdinalIgnoreCase) ? AudioSnippet.WavDataUri(path, 0, options.AudioSeconds) : null;
        });
        w.WriteStartArray("gallery");
        for (var g = 0; g < gallery.Count; g++)
        {
            w.WriteStartObject();
            w.WriteNumber("i", gallery[g].Row);
            w.WriteString("kind", gallery[g].Kind);
            if (previews[g] is { } uri) w.WriteString(uri.StartsWith("data:audio", StringComparison.Ordinal) ? "audio" : "thumb", uri);
            w.WriteEndObject();
        }
        w.WriteEndArray();
    }

    private static void WriteHistory(Utf8JsonWriter w, LearningCurve curve)
    {
        w.WriteStartObject("history");
        w.WriteString("axis", curve.Axis);
        w.WriteNumber("kept", curve.KeptEpoch);
        w.WriteStartArray("epochs");
        foreach (var e in curve.Epochs)
        {
            w.WriteStartObject();
            w.WriteNumber("epoch", e.Epoch);
            ReportPage.Number(w, "train_loss", e.TrainLoss);
            ReportPage.Number(w, "train_accuracy", e.TrainAccuracy);
            if (e.ValLoss is { } vl) ReportPage.Number(w, "val_loss", vl);
            if (e.ValAccuracy is { } va) ReportPage.Number(w, "val_accuracy", va);
            w.WriteEndObject();
        }
        w.WriteEndArray();
        w.WriteEndObject();
    }
}
