using OnnxTransfer.Comparison;
using Spectre.Console;

namespace OnnxTransfer.Cli.Rendering;

/// <summary>Prints a backbone comparison: the probe, one row per backbone, the skipped ones and the choice.</summary>
internal static class ComparisonRenderer
{
    /// <summary>Writes the table and the choice to <paramref name="output"/>.</summary>
    public static void Show(TextWriter output, ComparisonResult result, string folder)
    {
        var console = WriterConsole.Create(output);
        output.WriteLine($"probe: {result.Probe}");
        var table = new Table().RoundedBorder();
        foreach (var (column, i) in ComparisonReport.Columns.Select((c, i) => (c, i)))
            table.AddColumn(i == 0 ? new TableColumn(column) : new TableColumn(column).RightAligned());
        foreach (var score in result.Scores)
        {
            var cells = ComparisonReport.Cells(score).Select(Markup.Escape).ToArray();
            if (score.Backbone == result.Chosen) cells[0] += " (chosen)";
            table.AddRow(cells);
        }
        console.Write(table);
        foreach (var skipped in result.Skipped) output.WriteLine($"skipped: {skipped.Backbone} ({skipped.Reason})");
        output.WriteLine($"choice: {result.Reason}");
        output.WriteLine($"table: {Path.Combine(folder, ComparisonReport.MarkdownFileName)}");
    }
}
