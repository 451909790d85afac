namespace OnnxTransfer.Cli.Rendering;

/// <summary>Prints what `fit` did and where everything is.</summary>
internal static class FitRenderer
{
    /// <summary>Extraction counts, training summary, the held-out report, and the files written (<paramref name="curves"/>: the learning-curve plot, if drawn).</summary>
    public static void Summarize(FitResult result, string? curves)
    {
        var x = result.Extraction;
        Console.WriteLine($"features: {x.Output} ({x.Written} extracted, {x.Skipped} cached, {x.Errors} unreadable{(x.Errors > 0 ? $", see {x.ErrorsFile}" : "")})");
        Console.WriteLine(result.Split.Describe());
        TrainingRenderer.Summarize(result.Training, curves);
        if (result.Report is { } report)
        {
            Console.WriteLine(Heading(report));
            ReportRenderer.Show(report, result.ReportPath);
        }
        else Console.WriteLine("no held-out rows to evaluate on (too few examples per class).");
        Console.WriteLine($"model: {result.ModelPath}");
    }

    /// <summary>The fine-tuning run: what was unfrozen, the epochs, the activation-caching timing, the held-out report.</summary>
    public static void Summarize(FineTuneFitResult result)
    {
        var r = result.Result;
        Console.WriteLine(result.Split.Describe());
        Console.WriteLine($"unfrozen: {r.Model.Metadata[OnnxTransfer.Training.FineTuning.FineTuner.UnfrozenMetadataKey]}");
        if (r.ResumedEpochs > 0) Console.WriteLine($"resumed from the checkpoint after epoch {r.ResumedEpochs}");
        foreach (var m in r.History)
            Console.WriteLine(FormattableString.Invariant($"  epoch {m.Epoch}: loss {m.TrainLoss:F4}, train acc {m.TrainAccuracy:F4}") +
                              (m.ValLoss is { } vl ? FormattableString.Invariant($", val loss {vl:F4}, val acc {m.ValAccuracy:F4}") : ""));
        var cached = r.EpochTime.TotalSeconds;
        if (r.Model.Metadata.TryGetValue(OnnxTransfer.Training.FineTuning.FineTuner.AugmentationMetadataKey, out var augmentation))
            Console.WriteLine(FormattableString.Invariant(
                $"augmentation: {augmentation}; epoch through the whole network {cached:F2} s for {result.TrainItems} training images (validation cached: {r.PrefixRuns} images, {r.CacheTime.TotalSeconds:F1} s incl. the readability check)"));
        else if (r.PrefixRuns == 0)
            Console.WriteLine(FormattableString.Invariant($"activation cache: reused the stored activations ({r.CacheTime.TotalSeconds:F1} s to read); epoch on cached activations {cached:F2} s"));
        else
        {
            var whole = r.CacheTime.TotalSeconds + cached; // without caching every epoch would also decode and run the frozen prefix
            Console.WriteLine(FormattableString.Invariant(
                $"activation cache: frozen prefix once over {r.PrefixRuns} images {r.CacheTime.TotalSeconds:F1} s; epoch on cached activations {cached:F2} s vs ~{whole:F1} s through the whole network ({whole / Math.Max(cached, 1e-9):F1}× faster per epoch)"));
        }
        if (result.Report is { } report)
        {
            Console.WriteLine(Heading(report));
            ReportRenderer.Show(report, result.ReportPath);
        }
        else Console.WriteLine("no held-out images to evaluate on.");
        Console.WriteLine($"model: {result.ModelPath}");
    }

    // Names both sets so a reader sees the score is not the early-stopping set's.
    private static string Heading(OnnxTransfer.Evaluation.EvaluationReport report) =>
        $"held-out evaluation ({report.Context.GetValueOrDefault("split", "hold-out")}; early stopping used: {report.Context.GetValueOrDefault("early_stopping", "none")}):";
}
