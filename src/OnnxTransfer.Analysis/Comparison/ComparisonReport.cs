using System.Globalization;
using System.Text;

namespace OnnxTransfer.Comparison;

/// <summary>A comparison as files: compare.json (everything, fold assignment included) and compare.md (the table and the choice).</summary>
internal static class ComparisonReport
{
    /// <summary>File name of the JSON result.</summary>
    public const string JsonFileName = "compare.json";

    /// <summary>File name of the Markdown table.</summary>
    public const string MarkdownFileName = "compare.md";

    /// <summary>Column headers of the table, in <see cref="Cells"/> order.</summary>
    public static readonly string[] Columns = ["backbone", "features", "accuracy", "balanced accuracy", "features/s", "latency (ms/image)", "model size"];

    /// <summary>Writes both files into <paramref name="folder"/>.</summary>
    public static void Write(ComparisonResult result, string folder)
    {
        AtomicFile.WriteText(Path.Combine(folder, JsonFileName), Json(result));
        AtomicFile.WriteText(Path.Combine(folder, MarkdownFileName), Markdown(result));
    }

    /// <summary>The result as JSON text (what compare.json holds and `compare --json` prints).</summary>
    public static string Json(ComparisonResult result) => JsonText.Write(result, ComparisonJson.Default.ComparisonResult);

    /// <summary>Reads a compare.json.</summary>
    public static ComparisonResult? ReadJson(string path) => JsonText.Read(File.ReadAllText(path), ComparisonJson.Default.ComparisonResult);

    /// <summary>One row of the table: mean ± sd over the folds in percent, speed, size.</summary>
    public static string[] Cells(BackboneScore s) =>
    [
        s.Backbone,
        s.Dimension.ToString(CultureInfo.InvariantCulture),
        Pct(s.Accuracy, s.AccuracySd),
        Pct(s.BalancedAccuracy, s.BalancedAccuracySd),
        s.FeaturesPerSecond.ToString("F1", CultureInfo.InvariantCulture),
        s.LatencyMs.ToString("F1", CultureInfo.InvariantCulture),
        (s.ModelBytes / 1e6).ToString("F1", CultureInfo.InvariantCulture) + " MB",
    ];

    /// <summary>The table, the probe, the choice and the skipped candidates as Markdown.</summary>
    public static string Markdown(ComparisonResult result)
    {
        var md = new StringBuilder();
        md.AppendLine($"| {string.Join(" | ", Columns)} |");
        md.AppendLine("|---|" + string.Concat(Enumerable.Repeat("---:|", Columns.Length - 1)));
        foreach (var s in result.Scores)
        {
            var cells = Cells(s);
            if (s.Backbone == result.Chosen) cells[0] = $"**{cells[0]}**";
            md.AppendLine($"| {string.Join(" | ", cells)} |");
        }
        md.AppendLine();
        md.AppendLine($"Probe: {result.Probe}.");
        md.AppendLine();
        md.AppendLine($"Choice: {result.Reason}.");
        foreach (var s in result.Skipped) md.AppendLine().AppendLine($"Skipped: {s.Backbone} ({s.Reason}).");
        return md.ToString();
    }

    private static string Pct(double mean, double sd) => string.Create(CultureInfo.InvariantCulture, $"{100 * mean:F1} ± {100 * sd:F1} %");
}
