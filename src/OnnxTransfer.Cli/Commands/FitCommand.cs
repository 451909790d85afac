using System.CommandLine;
using OnnxTransfer.Backbones;
using OnnxTransfer.Cli.Rendering;
using OnnxTransfer.Features;

namespace OnnxTransfer.Cli.Commands;

/// <summary>`onnxtransfer fit`: the main job in one call — pull, extract, train, evaluate, export.</summary>
public static class FitCommand
{
    /// <summary>Builds the command.</summary>
    public static Command Create()
    {
        var backbone = new Option<string>("--backbone", "-b") { Description = "Backbone name (see `onnxtransfer backbones`) or .onnx path.", DefaultValueFactory = _ => "mobilenetv2-12-int8" };
        var data = new Option<string>("--data", "-d") { Description = "Dataset: class folders, train/val/test split folders, or a CSV manifest.", Required = true };
        var output = new Option<string>("--out", "-o") { Description = "The model to write (.onnx); features, head and report go beside it.", Required = true };
        var perClass = new Option<int?>("--per-class") { Description = "Train on at most N examples per class (few-shot); evaluation still uses every held-out example." };
        var holdout = new Option<double>("--holdout") { Description = "Fraction held out for evaluation when the dataset has no val/test split.", DefaultValueFactory = _ => 0.2 };
        var batch = new Option<int>("--batch") { Description = "Images per backbone run during extraction.", DefaultValueFactory = _ => 32 };
        var threads = new Option<int>("--threads") { Description = "Decode workers during extraction.", DefaultValueFactory = _ => Environment.ProcessorCount };
        var command = new Command("fit", "Transfer learning in one call: pull the backbone, extract features (cached, resumable), train a head, evaluate on held-out data, export one ONNX model.")
        {
            backbone, data, output, perClass, holdout, batch, threads,
        };
        var training = new TrainingOptionSet();
        training.AddTo(command);
        var device = new DeviceOptions().AddTo(command);
        command.SetAction(async (pr, ct) =>
        {
            var options = new LearnerOptions
            {
                Backbone = new FeatureBackboneOptions { Device = device.Read(pr) },
                Extraction = new FeatureExtractionOptions { BatchSize = pr.GetValue(batch), Threads = Math.Max(1, pr.GetValue(threads)) },
                Training = training.Read(pr),
                PerClass = pr.GetValue(perClass),
                HoldoutFraction = pr.GetValue(holdout),
            };
            using var learner = await ProgressRenderer.RunAsync("pull", p => Learner.CreateAsync(pr.GetValue(backbone)!, options, p, ct));
            if (learner.Backbone.DeviceWarning is { } warning) Console.Error.WriteLine($"warning: {warning}");
            Console.Error.WriteLine($"{learner.Backbone.Name}: {learner.Backbone.FeatureTensor} → {learner.Backbone.Dimension}-d features on {learner.Backbone.Provider}");
            var result = await ProgressRenderer.RunAsync("fit", p => learner.FitAsync(pr.GetValue(data)!, pr.GetValue(output)!, p, ct));
            FitRenderer.Summarize(result);
            return 0;
        });
        return command;
    }
}
