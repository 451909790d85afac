using System.CommandLine;
using OnnxTransfer.Cli.Rendering;
using OnnxTransfer.Data;
using OnnxTransfer.Inference;
using OnnxTransfer.Evaluation;
using OnnxTransfer.Features;
using OnnxTransfer.Training.Heads;

namespace OnnxTransfer.Cli.Commands;

/// <summary>`onnxtransfer evaluate`: metrics, report and plots for a head on stored features.</summary>
internal static class EvaluateCommand
{
    /// <summary>Builds the command.</summary>
    public static Command Create()
    {
        var features = new Option<string?>("--features", "-f") { Description = "Feature store to evaluate on (.parquet)." };
        var head = new Option<string?>("--head") { Description = "Head directory from `onnxtransfer train`." };
        var split = new Option<string?>("--split") { Description = "Split to evaluate: val, test, or any split name (default: test if present, else val, else all rows)." };
        var report = new Option<string?>("--report") { Description = "Where to write the report: a .json path or a folder (report.json, report.md, report.html, predictions.csv, plots)." };
        var model = new Option<string?>("--model", "-m") { Description = "An exported model (.onnx) to evaluate on --data instead of a head on --features." };
        var data = new Option<string?>("--data", "-d") { Description = "Labelled images, or WAV files for a speech model (class folders, split folders or CSV) for --model; class names must be the model's labels. With --features: the dataset folder the features came from, so report.html shows its images." };
        var outside = new Option<bool>("--allow-outside-paths") { Description = "With --data: read items that resolve outside the dataset folder (manifest paths with .. or absolute, symlinks)." };
        var json = new Option<bool>("--json") { Description = "Print the report as one JSON object on stdout (the report.json format) and nothing else there; progress and notes go to stderr." };
        var command = new Command("evaluate", "Evaluate a head on stored features, or an exported model on labelled images: accuracy, balanced accuracy, per-class P/R/F1, ROC-AUC, log-loss, confusion matrix.")
        {
            features, head, model, data, split, report, outside, json,
        };
        command.SetAction(async (pr, ct) =>
        {
            if (pr.GetValue(report) is { } target) EvaluationReport.CheckTarget(target);
            var reportFiles = pr.GetValue(report) is { } r ? EvaluationReport.Files(r) : [];
            OutputPaths.RefuseOverlap([("--features", pr.GetValue(features)), ("--model", pr.GetValue(model)), ("--data", pr.GetValue(data))],
                reportFiles.Select(f => ("--report", (string?)f)));
            if (pr.GetValue(model) is { } modelPath)
            {
                var modelReport = EvaluateModel(modelPath, pr.GetValue(data) ?? throw new UsageException("evaluate --model needs --data DIR|CSV (labelled images)."),
                    pr.GetValue(split), pr.GetValue(report), pr.GetValue(outside), ct);
                Show(pr, pr.GetValue(json), modelReport, pr.GetValue(report));
                return 0;
            }
            var featuresPath = pr.GetValue(features) ?? throw new UsageException("evaluate needs --features FILE.parquet and --head DIR (or --model and --data).");
            var headDir = pr.GetValue(head) ?? throw new UsageException("evaluate needs --head DIR (from `onnxtransfer train`).");
            var table = await FeatureStore.ReadAsync(featuresPath, ct);
            var (rows, splitName) = pr.GetValue(split) is { } s
                ? (FeatureSplits.Select(table, s), s)
                : FeatureSplits.From(table).Holdout is { } h ? (h, h.Splits[0]) : (table, "all");
            using var headModel = HeadModel.Load(headDir);
            var scored = HeadEvaluation.Score(headModel, rows);
            // Feature rows carry ids relative to the dataset; with --data they resolve to the files report.html previews.
            var predictions = pr.GetValue(data) is { } root
                ? scored.Predictions.Select(p => p with { Path = Path.GetFullPath(Path.Combine(root, p.Path)) }).ToArray()
                : scored.Predictions;
            var result = EvaluationReport.From(scored.Metrics, new Dictionary<string, string>
            {
                ["head"] = Path.GetFullPath(headDir), ["features"] = Path.GetFullPath(featuresPath), ["split"] = splitName,
            }, predictions);
            if (pr.GetValue(report) is { } reportTarget) result = result.Write(reportTarget);
            Show(pr, pr.GetValue(json), result, pr.GetValue(report));
            return 0;
        });
        return command;
    }

    private static void Show(ParseResult pr, bool json, EvaluationReport report, string? writtenTo)
    {
        if (json) JsonOutput.Write(pr, report.ToJson());
        else ReportRenderer.Show(report, writtenTo);
    }

    private static EvaluationReport EvaluateModel(string modelPath, string dataPath, string? split, string? reportPath, bool allowOutsidePaths, CancellationToken ct)
    {
        using var model = TransferModel.Load(modelPath, frontEnds: PredictCommand.PullFrontEnd);
        var dataset = DatasetLoader.Load(dataPath, new DatasetLoadOptions { Extensions = model.InputExtensions, AllowOutsidePaths = allowOutsidePaths });
        if (split is not null) dataset = dataset.InSplit(split);
        DatasetRenderer.Summarize(dataset);
        var evaluation = ProgressRenderer.RunAsync("evaluate", p => Task.Run(() => ModelEvaluation.Evaluate(model, dataset.Items, progress: p, ct: ct), ct))
            .GetAwaiter().GetResult();
        foreach (var (path, reason) in evaluation.Errors) CliConsole.Note($"skipped {path}: {reason}");
        var result = EvaluationReport.From(evaluation.Metrics, new Dictionary<string, string>
        {
            ["model"] = Path.GetFullPath(modelPath), ["dataset"] = dataset.Root, ["split"] = split ?? "all",
            ["unreadable_files"] = evaluation.Errors.Count.ToString(System.Globalization.CultureInfo.InvariantCulture),
        }, evaluation.Predictions);
        return reportPath is null ? result : result.Write(reportPath);
    }
}
