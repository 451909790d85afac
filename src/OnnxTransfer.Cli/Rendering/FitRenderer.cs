namespace OnnxTransfer.Cli.Rendering;

/// <summary>Prints what `fit` did and where everything is.</summary>
public static class FitRenderer
{
    /// <summary>Extraction counts, training summary, the held-out report, and the files written.</summary>
    public static void Summarize(FitResult result)
    {
        var x = result.Extraction;
        Console.WriteLine($"features: {x.Output} ({x.Written} extracted, {x.Skipped} cached, {x.Errors} unreadable{(x.Errors > 0 ? $", see {x.ErrorsFile}" : "")})");
        TrainingRenderer.Summarize(result.Training);
        if (result.Report is { } report)
        {
            Console.WriteLine($"held-out evaluation ({report.Context.GetValueOrDefault("split", "hold-out")}):");
            ReportRenderer.Show(report, result.ReportPath);
        }
        else Console.WriteLine("no held-out rows to evaluate on (too few examples per class).");
        Console.WriteLine($"model: {result.ModelPath}");
    }
}
