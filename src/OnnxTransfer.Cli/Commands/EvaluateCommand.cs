using System.CommandLine;
using OnnxTransfer.Cli.Rendering;
using OnnxTransfer.Evaluation;
using OnnxTransfer.Features;
using OnnxTransfer.Training;

namespace OnnxTransfer.Cli.Commands;

/// <summary>`onnxtransfer evaluate`: metrics, report and plots for a head on stored features.</summary>
public static class EvaluateCommand
{
    /// <summary>Builds the command.</summary>
    public static Command Create()
    {
        var features = new Option<string?>("--features", "-f") { Description = "Feature store to evaluate on (.parquet)." };
        var head = new Option<string?>("--head") { Description = "Head directory from `onnxtransfer train`." };
        var split = new Option<string?>("--split") { Description = "Split to evaluate: val, test, or any split name (default: test if present, else val, else all rows)." };
        var report = new Option<string?>("--report") { Description = "Where to write the report: a .json path or a folder (report.json, report.md, plots)." };
        var command = new Command("evaluate", "Evaluate a trained head on stored features: accuracy, balanced accuracy, per-class P/R/F1, ROC-AUC, log-loss, confusion matrix.")
        {
            features, head, split, report,
        };
        command.SetAction(async (pr, ct) =>
        {
            var featuresPath = pr.GetValue(features) ?? throw new OnnxTransferException("evaluate needs --features FILE.parquet and --head DIR.");
            var headDir = pr.GetValue(head) ?? throw new OnnxTransferException("evaluate needs --head DIR (from `onnxtransfer train`).");
            var table = await FeatureStore.ReadAsync(featuresPath, ct);
            var (rows, splitName) = pr.GetValue(split) is { } s
                ? (FeatureSplits.Select(table, s), s)
                : FeatureSplits.From(table).Holdout is { } h ? (h, h.Splits[0]) : (table, "all");
            using var model = HeadModel.Load(headDir);
            var metrics = HeadEvaluation.Evaluate(model, rows);
            var result = EvaluationReport.From(metrics, new Dictionary<string, string>
            {
                ["head"] = Path.GetFullPath(headDir), ["features"] = Path.GetFullPath(featuresPath), ["split"] = splitName,
            });
            if (pr.GetValue(report) is { } target) result = result.Write(target);
            ReportRenderer.Show(result, pr.GetValue(report));
            return 0;
        });
        return command;
    }
}
