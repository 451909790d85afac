using System.Globalization;
using OnnxTransfer.Evaluation;
using Spectre.Console;

namespace OnnxTransfer.Cli.Rendering;

/// <summary>Shows an evaluation report: headline metrics, a per-class table, where the files are.</summary>
internal static class ReportRenderer
{
    /// <summary>Writes the report to the console.</summary>
    public static void Show(EvaluationReport report, string? writtenTo)
    {
        static string F(double v) => double.IsNaN(v) ? "n/a" : v.ToString("0.0000", CultureInfo.InvariantCulture);
        var table = new Table().RoundedBorder().AddColumns("class", "precision", "recall", "F1", "support");
        foreach (var c in report.PerClass)
            table.AddRow(Markup.Escape(c.Name), F(c.Precision), F(c.Recall), F(c.F1), c.Support.ToString(CultureInfo.InvariantCulture));
        AnsiConsole.Write(table);
        AnsiConsole.MarkupLine($"n {report.N}  accuracy [bold]{F(report.Accuracy)}[/]  balanced accuracy {F(report.BalancedAccuracy)}  " +
                               $"macro-F1 {F(report.MacroF1)}  ROC-AUC {F(report.RocAuc)}  log-loss {F(report.LogLoss)}");
        if (writtenTo is not null)
        {
            Console.WriteLine($"report: {Path.GetFullPath(writtenTo)}");
            var files = EvaluationReport.Files(writtenTo);
            // The page to open: metrics, the mistakes with their images, curves.
            Console.WriteLine($"open in a browser: {Path.GetFullPath(files[2])}");
            if (report.Predictions is not null) Console.WriteLine($"per-item predictions: {Path.GetFullPath(files[3])}");
            foreach (var (name, file) in report.Plots) Console.WriteLine($"plot {name}: {file}");
        }
    }
}
