using System.CommandLine;
using OnnxTransfer.Backbones;
using OnnxTransfer.Cli.Rendering;
using OnnxTransfer.Export;

namespace OnnxTransfer.Cli.Commands;

/// <summary>`onnxtransfer export --backbone NAME|PATH --head HEAD_DIR --out MODEL.onnx [--embed-preprocessing]`.</summary>
internal static class ExportCommand
{
    /// <summary>Builds the command.</summary>
    public static Command Create()
    {
        var backbone = new Option<string>("--backbone", "-b") { Description = "Backbone name (see `onnxtransfer backbones`) or .onnx path: the one the head's features came from.", Required = true };
        var head = new Option<string>("--head") { Description = "Trained head directory (head.json, eval.onnx) from `onnxtransfer train`.", Required = true };
        var output = new Option<string>("--out", "-o") { Description = "Model file to write (.onnx).", Required = true };
        var embed = new Option<bool>("--embed-preprocessing") { Description = "Normalise inside the graph: the model takes uint8 RGB [N,H,W,3] at the crop size." };
        var at = new Option<string?>("--at") { Description = "Feature tensor to cut at, if the features were extracted with --at (default: the backbone's, or auto)." };
        var pool = new Option<string?>("--pool") { Description = "Pooling at the cut (none or avg), if the features were extracted with one (default: what the tensor needs)." };
        pool.AcceptOnlyFromAmong("none", "avg");
        var ignoreSource = new Option<bool>("--ignore-feature-source") { Description = "Export even if the head's features came from another backbone file or tensor (e.g. a quantized twin)." };
        var json = JsonOutput.Option();
        var command = new Command("export",
            "Merge a backbone and a trained head into ONE self-contained ONNX classifier: outputs 'probabilities' [N,C] and 'label' [N]; labels and preprocessing in its metadata.")
        {
            backbone, head, output, embed, at, pool, ignoreSource, json,
        };
        command.SetAction(async (pr, ct) =>
        {
            var headFiles = new[] { Training.Heads.Trainer.EvalGraphFile, Training.Heads.HeadInfo.FileName, Training.Heads.Trainer.TrainGraphFile, Training.Heads.Trainer.OptimizerGraphFile, Training.Heads.Trainer.CheckpointFile }
                .Select(f => ("--head", (string?)Path.Combine(pr.GetValue(head)!, f)));
            OutputPaths.RefuseOverlap([("--backbone", pr.GetValue(backbone)), .. headFiles], [("--out", pr.GetValue(output))]);
            var options = new ExportOptions
            {
                EmbedPreprocessing = pr.GetValue(embed),
                CutAt = pr.GetValue(at),
                Pool = pr.GetValue(pool) switch { "avg" => FeaturePool.Avg, "none" => FeaturePool.None, _ => null },
                IgnoreFeatureSource = pr.GetValue(ignoreSource),
            };
            var model = await ProgressRenderer.RunAsync("pull", p => ModelExporter.ExportAsync(pr.GetValue(backbone)!, pr.GetValue(head)!, options, p, ct));
            var path = pr.GetValue(output)!;
            model.Save(path);
            if (pr.GetValue(json)) JsonOutput.Write(pr, ExportOutput.From(model, path), CliJson.Default.ExportOutput);
            else PredictionRenderer.WriteExport(pr.InvocationConfiguration.Output, model, path);
            return 0;
        });
        return command;
    }
}
