using System.CommandLine;
using OnnxTransfer.Cli.Rendering;
using OnnxTransfer.Inference;
using OnnxTransfer.Backbones;

namespace OnnxTransfer.Cli.Commands;

/// <summary>
/// `onnxtransfer predict --model MODEL.onnx PATH... [--top K] [--json] [--batch N]`: label images with an exported model.
/// A file that cannot be read is reported (in the output and on stderr) and the others go on; the exit code is 1
/// only when no file at all could be labelled.
/// </summary>
internal static class PredictCommand
{
    /// <summary>
    /// A speech model's front end, pulled when it is missing. The library loads models synchronously from the cache or
    /// a mirror; the command (no synchronization context) may wait for the pull.
    /// </summary>
    public static Audio.SpeechFrontEndFiles PullFrontEnd(string name) =>
        BackboneRegistry.Default.SpeechFrontEndAsync(name).GetAwaiter().GetResult();

    /// <summary>Builds the command.</summary>
    public static Command Create()
    {
        var model = new Option<string>("--model", "-m") { Description = "A model written by `onnxtransfer export`.", Required = true };
        var paths = new Argument<string[]>("PATH") { Description = "Image files (WAV files for a speech model), or folders searched recursively for them.", Arity = ArgumentArity.OneOrMore };
        var top = new Option<int>("--top", "-k") { Description = "How many labels to list per image, best first.", DefaultValueFactory = _ => 3 }.AtLeast(1);
        var json = new Option<bool>("--json") { Description = "One JSON object per line: {\"file\",\"label\",\"score\",\"top\"} or {\"file\",\"error\"}." };
        var batch = new Option<int>("--batch") { Description = "Images per model run.", DefaultValueFactory = _ => 32 }.AtLeast(1);
        var command = new Command("predict",
            "Label images with an exported model (labels and preprocessing come from the model file). Unreadable files are reported and skipped; " +
            "exit code 0 when at least one file was labelled, 1 when every file failed.")
        {
            model, paths, top, json, batch,
        };
        var device = new DeviceOptions().AddTo(command);
        command.SetAction((pr, ct) =>
        {
            var k = pr.GetValue(top);
            var batchSize = pr.GetValue(batch);
            if (k < 1) throw new UsageException($"--top {k}: give 1 or more.");
            if (batchSize < 1) throw new UsageException($"--batch {batchSize}: give 1 or more.");
            var output = pr.InvocationConfiguration.Output;
            var error = pr.InvocationConfiguration.Error;
            using var classifier = TransferModel.Load(pr.GetValue(model)!, device.Read(pr), frontEnds: PullFrontEnd);
            if (classifier.DeviceWarning is { } warning) CliConsole.Warning(warning);
            k = Math.Min(k, classifier.Labels.Count);

            var inputs = InputFiles.Expand(pr.GetValue(paths)!, classifier.InputExtensions);
            using var predictions = classifier.PredictFiles(inputs.Where(i => i.Error is null).Select(i => i.Path), batchSize, ct).GetEnumerator();
            var table = new List<FilePrediction>();
            var labelled = 0;
            foreach (var input in inputs)
            {
                FilePrediction result;
                if (input.Error is not null) result = new FilePrediction(input.Path, null, input.Error);
                else
                {
                    predictions.MoveNext();
                    result = predictions.Current;
                }
                if (result.Succeeded) labelled++;
                else error.WriteLine($"error: {result.Error}");
                if (pr.GetValue(json)) PredictionRenderer.WriteJsonLine(output, result, k);
                else table.Add(result);
            }
            if (!pr.GetValue(json)) PredictionRenderer.WriteTable(output, table, k);
            return Task.FromResult(labelled > 0 ? 0 : 1);
        });
        return command;
    }
}
