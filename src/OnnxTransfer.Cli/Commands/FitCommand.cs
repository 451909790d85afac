using System.CommandLine;
using OnnxTransfer.Backbones;
using OnnxTransfer.Cli.Rendering;
using OnnxTransfer.Comparison;
using OnnxTransfer.Features;
using OnnxTransfer.Imaging;
using OnnxTransfer.Training.FineTuning;

namespace OnnxTransfer.Cli.Commands;

/// <summary>`onnxtransfer fit`: the main job in one call — pull, extract, train, evaluate, export.</summary>
internal static class FitCommand
{
    /// <summary>Builds the command.</summary>
    public static Command Create()
    {
        var backbone = new Option<string>("--backbone", "-b") { Description = "Backbone name (see `onnxtransfer backbones`), .onnx path, or auto: compare the image backbones available offline with a cross-validated linear probe on the training side (`onnxtransfer compare`, cached in MODEL.compare/) and fit the best.", DefaultValueFactory = _ => "mobilenetv2-12-int8" };
        var data = new Option<string>("--data", "-d") { Description = "Dataset: class folders, train/val/test split folders, or a CSV manifest.", Required = true };
        var output = new Option<string>("--out", "-o") { Description = "The model to write (.onnx); features, head and report go beside it.", Required = true };
        var perClass = new Option<int?>("--per-class") { Description = "Train on at most N examples per class (few-shot; the early-stopping carve comes out of them): the same items with or without --unfreeze (and, at the default --seed 1, the items `curve` trains on at size N, seed 1); evaluation still uses every held-out example." }.AtLeast(1);
        var holdout = new Option<double>("--holdout") { Description = "Fraction held out for evaluation when the dataset has no val/test split.", DefaultValueFactory = _ => 0.2 }.OpenFraction();
        var batch = new Option<int>("--batch") { Description = "Images per backbone run during extraction.", DefaultValueFactory = _ => 32 }.AtLeast(1);
        var threads = new Option<int>("--threads") { Description = "Decode workers during extraction.", DefaultValueFactory = _ => Environment.ProcessorCount }.AtLeast(1);
        var maxPixels = ImageOptions.MaxPixels();
        var unfreeze = new Option<string>("--unfreeze")
        {
            Description = "Backbone layers to fine-tune with the head: 0 (head only, on cached features), N, or auto " +
                          "(< 50 examples in the smallest class: head only; < 500: the last block; more: the last two). " +
                          "On a backbone made of residual blocks throughout (resnet18) N counts whole blocks: 1 = the last residual block. " +
                          "An interrupted run continues from MODEL.checkpoint-N.bin when rerun with the same arguments.",
            DefaultValueFactory = _ => "0",
        }.Parses(text => ParseUnfreeze(text));
        var augment = new Option<string?>("--augment")
        {
            Description = "With --unfreeze: augment the training images (random resized crop, horizontal flip), drawn per epoch from --seed. " +
                          "Alone = light (scale=0.35:1,ratio=3/4:4/3,flip=0.5); or give SPEC with any of those keys. " +
                          "Each epoch then runs the whole network on every training image instead of using cached activations.",
            Arity = ArgumentArity.ZeroOrOne,
        }.Parses(text => ImageAugmentation.Parse(text!));
        var gradual = new Option<bool>("--gradual")
        {
            Description = "With --unfreeze: gradual unfreezing (on by default) — train the head alone first, then release one more layer per stage, " +
                          "nearest the features first; --gradual false trains all N layers from the first epoch.",
            DefaultValueFactory = _ => true,
        };
        var stageEpochs = new Option<int>("--stage-epochs") { Description = "With --gradual: epochs per stage.", DefaultValueFactory = _ => 1 }.AtLeast(1);
        var groupBy = new Option<string?>("--group-by")
        {
            Description = "Regular expression on each file name; files with the same first capture group (or whole match) stay on one side of every split, " +
                          "e.g. 'person(\\d+)_' keeps one patient's scans together. Every file name must match.",
        }.Parses(pattern => OnnxTransfer.Data.ItemGrouping.FileNamePattern(pattern!));
        var outside = new Option<bool>("--allow-outside-paths") { Description = "Read dataset items that resolve outside the dataset folder (manifest paths with .. or absolute, symlinks)." };
        var json = JsonOutput.Option();
        var command = new Command("fit", "Transfer learning in one call: pull the backbone, extract features (cached, resumable), train a head, evaluate on held-out data, export one ONNX model.")
        {
            backbone, data, output, perClass, holdout, groupBy, batch, threads, maxPixels, unfreeze, gradual, stageEpochs, augment, outside, json,
        };
        var training = new TrainingOptionSet();
        training.AddTo(command);
        var device = new DeviceOptions().AddTo(command);
        command.SetAction(async (pr, ct) =>
        {
            var backboneName = pr.GetValue(backbone)!;
            var auto = AutoBackbone.IsAuto(backboneName);
            OutputPaths.RefuseOverlap([("--data", pr.GetValue(data)), ("--backbone", auto ? null : backboneName)], [("--out", pr.GetValue(output))]);
            var unfreezeLayers = ParseUnfreeze(pr.GetValue(unfreeze)!);
            var augmentation = pr.GetResult(augment) is null ? null : ImageAugmentation.Parse(pr.GetValue(augment) ?? "light");
            if (augmentation is not null && unfreezeLayers == 0)
                throw new UsageException("--augment needs --unfreeze N or auto: head-only training reuses cached features, which cannot be augmented.");
            var trainingOptions = training.Read(pr);
            var options = new LearnerOptions
            {
                AllowOutsidePaths = pr.GetValue(outside),
                Unfreeze = unfreezeLayers,
                // Fine-tuning pretrained layers wants smaller steps and fewer epochs than a head alone.
                FineTune = new FineTuneOptions
                {
                    Augmentation = augmentation,
                    GradualUnfreezing = pr.GetValue(gradual) ? pr.GetValue(stageEpochs) : 0,
                    Training = trainingOptions with
                    {
                        LearningRate = pr.GetValue(training.LearningRate) ?? 1e-3,
                        Epochs = pr.GetValue(training.Epochs) ?? 15,
                        BatchSize = pr.GetValue(training.Batch) ?? 16,
                        Patience = pr.GetValue(training.Patience) ?? 4,
                    },
                },
                Backbone = new FeatureBackboneOptions { Device = device.Read(pr), MaxPixels = pr.GetValue(maxPixels) },
                Extraction = new FeatureExtractionOptions { BatchSize = pr.GetValue(batch), Threads = Math.Max(1, pr.GetValue(threads)) },
                Training = trainingOptions,
                PerClass = pr.GetValue(perClass),
                HoldoutFraction = pr.GetValue(holdout),
                Grouping = pr.GetValue(groupBy) is { } pattern ? OnnxTransfer.Data.ItemGrouping.FileNamePattern(pattern) : null,
            };
            if (auto)
            {
                var comparison = await ProgressRenderer.RunAsync("compare", p => AutoBackbone.ChooseForFitAsync(pr.GetValue(data)!, pr.GetValue(output)!, options, progress: p, ct: ct));
                // With --json stdout holds the fit's one object; the choice then goes to stderr with the other notes.
                if (pr.GetValue(json)) CliConsole.Note($"backbone: {comparison.Reason} (table: {Path.Combine(AutoBackbone.CacheFolder(pr.GetValue(output)!), ComparisonReport.MarkdownFileName)})");
                else ComparisonRenderer.Show(pr.InvocationConfiguration.Output, comparison, AutoBackbone.CacheFolder(pr.GetValue(output)!));
                backboneName = comparison.Winner.Candidate;
            }
            using var learner = await ProgressRenderer.RunAsync("pull", p => Learner.CreateAsync(backboneName, options, p, ct));
            if (learner.Backbone.DeviceWarning is { } warning) CliConsole.Warning(warning);
            CliConsole.Note($"{learner.Backbone.Name}: {learner.Backbone.FeatureTensor} → {learner.Backbone.Dimension}-d features on {learner.Backbone.Provider}");
            // Head only (the default) goes straight to the feature path below, unchanged.
            var (layers, reason) = unfreezeLayers == 0 ? (0, "") : learner.ChooseUnfreeze(learner.LoadDataset(pr.GetValue(data)!));
            if (unfreezeLayers != 0) CliConsole.Note($"unfreeze: {reason}");
            if (augmentation is not null)
                CliConsole.Note(layers > 0 ? $"augmentation: {augmentation}" : "augmentation: not used (head only trains on cached features)");
            if (layers > 0)
            {
                var stages = options.FineTune.GradualUnfreezing;
                if (stages > 0 && layers * stages + 1 > options.FineTune.Training.Epochs)
                    throw new UsageException($"--epochs {options.FineTune.Training.Epochs}: gradual unfreezing of {layers} layer(s) at {stages} epoch(s) per stage needs at least {layers * stages + 1} epochs; raise --epochs or pass --gradual false.");
                var tuned = await ProgressRenderer.RunAsync("fine-tune", p => learner.FineTuneAsync(pr.GetValue(data)!, pr.GetValue(output)!, layers, p, ct));
                if (pr.GetValue(json)) JsonOutput.Write(pr, FitOutput.From(tuned), CliJson.Default.FitOutput);
                else FitRenderer.Summarize(tuned);
                return 0;
            }
            var result = await ProgressRenderer.RunAsync("fit", p => learner.FitAsync(pr.GetValue(data)!, pr.GetValue(output)!, p, ct));
            var curves = TrainingRenderer.DrawLearningCurves(result.Training);
            if (pr.GetValue(json)) JsonOutput.Write(pr, FitOutput.From(result), CliJson.Default.FitOutput);
            else FitRenderer.Summarize(result, curves);
            return 0;
        });
        return command;
    }

    private static int ParseUnfreeze(string text)
    {
        var t = text.Trim();
        return t.Equals("auto", StringComparison.OrdinalIgnoreCase) ? LearnerOptions.AutoUnfreeze
            : int.TryParse(t, System.Globalization.CultureInfo.InvariantCulture, out var u) && u >= 0 ? u
            : throw new UsageException($"--unfreeze '{t}': give 0 (head only), a number of layers (of blocks on a ResNet), or auto.");
    }
}
