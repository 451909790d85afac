using OnnxTransfer.Evaluation;
using Spectre.Console;
using OnnxTransfer.Training.Heads;

namespace OnnxTransfer.Cli.Rendering;

/// <summary>Prints the outcome of a training run and draws its learning curves.</summary>
internal static class TrainingRenderer
{
    /// <summary>Draws learning_curves.png into the head folder; returns its path, or null when there is no history to draw.</summary>
    public static string? DrawLearningCurves(TrainingResult result)
    {
        if (result.History.Count == 0) return null;
        var plot = Path.Combine(result.HeadDirectory, "learning_curves.png");
        Plots.LearningCurves(plot, result.History.Select(h => h.TrainLoss).ToArray(),
            result.History.Where(h => h.ValLoss is not null).Select(h => h.ValLoss!.Value).ToArray(),
            result.History.Where(h => h.ValAccuracy is not null).Select(h => h.ValAccuracy!.Value).ToArray());
        return plot;
    }

    /// <summary>One summary line and where the head and its learning curves (<paramref name="curves"/>, if drawn) are.</summary>
    public static void Summarize(TrainingResult result, string? curves)
    {
        var m = result.Info.Metrics;
        // No validation rows but a validation score: the L2 strength was cross-validated, and the score is the folds' mean.
        var val = m.ValAccuracy is not { } acc ? ""
            : m.ValRows == 0 ? $", {L2CrossValidation.Folds}-fold cross-validated accuracy {acc:F4} (loss {m.ValLoss:F4})"
            : $", val accuracy {acc:F4} (loss {m.ValLoss:F4}) on {m.ValRows} rows";
        AnsiConsole.MarkupLine($"trained [bold]{Markup.Escape(result.Info.Spec)}[/] head ({result.Info.Task}, {result.Info.Classes.Length} classes) " +
                               $"on {m.TrainRows} rows: {Markup.Escape(HowTrained(m))}, " +
                               $"train accuracy {m.TrainAccuracy:F4}{Markup.Escape(val)}");
        Console.WriteLine($"head: {result.HeadDirectory}");
        if (curves is not null) Console.WriteLine($"learning curves: {curves}");
    }

    private static string HowTrained(HeadMetrics m) => m.L2 is { } l2
        ? FormattableString.Invariant($"L-BFGS, L2 {l2:0.###e0} chosen ({m.BestEpoch} of {m.EpochsRun} strengths tried, {m.SolverIterations} iterations)") +
          (m.RefitRows > 0 ? $", refitted on all {m.RefitRows} rows" : "")
        : $"best epoch {m.BestEpoch}/{m.EpochsRun}{(m.StoppedEarly ? " (stopped early)" : "")}";
}
