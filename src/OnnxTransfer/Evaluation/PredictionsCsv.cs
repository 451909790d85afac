using System.Globalization;
using System.Text;

namespace OnnxTransfer.Evaluation;

/// <summary>
/// <c>predictions.csv</c>: one row per evaluated item — <c>path,true_label,predicted_label,score_CLASS...,split</c> (RFC 4180
/// quoting; scores as the shortest text that reads back to the same float).
/// </summary>
internal static class PredictionsCsv
{
    /// <summary>The file name written beside report.json.</summary>
    public const string FileName = "predictions.csv";

    /// <summary>The CSV text of <paramref name="rows"/> with one score column per class of <paramref name="classes"/>.</summary>
    public static string Format(IReadOnlyList<string> classes, IReadOnlyList<PredictionRow> rows)
    {
        var sb = new StringBuilder();
        sb.AppendJoin(',', new[] { "path", "true_label", "predicted_label" }.Concat(classes.Select(c => "score_" + c)).Append("split").Select(Quote)).Append('\n');
        foreach (var r in rows)
        {
            if (r.Scores.Count != classes.Count)
                throw new OnnxTransferException($"prediction for {r.Path} has {r.Scores.Count} scores for {classes.Count} classes; pass one score per class.");
            sb.Append(Quote(r.Path)).Append(',').Append(Quote(r.TrueLabel)).Append(',').Append(Quote(r.PredictedLabel));
            foreach (var s in r.Scores) sb.Append(',').Append(s.ToString("R", CultureInfo.InvariantCulture));
            sb.Append(',').Append(Quote(r.Split)).Append('\n');
        }
        return sb.ToString();
    }

    /// <summary>Writes the file atomically.</summary>
    public static void Write(string path, IReadOnlyList<string> classes, IReadOnlyList<PredictionRow> rows) =>
        AtomicFile.WriteText(path, Format(classes, rows));

    /// <summary>Reads a file written by <see cref="Write"/>: the class names (from the score columns) and the rows.</summary>
    public static (IReadOnlyList<string> Classes, IReadOnlyList<PredictionRow> Rows) Read(string path)
    {
        var records = Parse(File.ReadAllText(path));
        if (records.Count == 0 || records[0].Count < 5 || records[0][0] != "path")
            throw new OnnxTransferException($"{path}: not a predictions.csv (expected a header path,true_label,predicted_label,score_...,split); re-run the evaluation.");
        var header = records[0];
        var classes = header.Skip(3).Take(header.Count - 4).Select(h => h["score_".Length..]).ToArray();
        var rows = records.Skip(1).Select((r, i) => r.Count == header.Count
            ? new PredictionRow(r[0], r[1], r[2], r.Skip(3).Take(classes.Length).Select(v => float.Parse(v, CultureInfo.InvariantCulture)).ToArray(), r[^1])
            : throw new OnnxTransferException($"{path}: line {i + 2} has {r.Count} fields, the header {header.Count}; re-run the evaluation.")).ToArray();
        return (classes, rows);
    }

    private static string Quote(string s) =>
        s.AsSpan().IndexOfAny(",\"\n\r") >= 0 ? "\"" + s.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"" : s;

    // RFC 4180 records: quoted fields may hold commas, doubled quotes and line breaks.
    private static List<List<string>> Parse(string text)
    {
        var records = new List<List<string>>();
        var record = new List<string>();
        var field = new StringBuilder();
        var quoted = false;
        for (var i = 0; i < text.Length; i++)
        {
            var ch = text[i];
            if (quoted)
            {
                if (ch != '"') field.Append(ch);
                else if (i + 1 < text.Length && text[i + 1] == '"') { field.Append('"'); i++; }
                else quoted = false;
            }
            else if (ch == '"') quoted = true;
            else if (ch == ',') { record.Add(field.ToString()); field.Clear(); }
            else if (ch == '\n')
            {
                record.Add(field.ToString()); field.Clear();
                records.Add(record); record = [];
            }
            else if (ch != '\r') field.Append(ch);
        }
        if (field.Length > 0 || record.Count > 0) { record.Add(field.ToString()); records.Add(record); }
        return records;
    }
}
