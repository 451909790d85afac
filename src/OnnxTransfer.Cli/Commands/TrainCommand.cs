using System.CommandLine;
using System.Globalization;
using OnnxTransfer.Cli.Rendering;
using OnnxTransfer.Features;
using OnnxTransfer.Training.Engine;
using OnnxTransfer.Training.Heads;

namespace OnnxTransfer.Cli.Commands;

/// <summary>`onnxtransfer train`: stored features → a trained head directory (graphs, checkpoint, head.json).</summary>
internal static class TrainCommand
{
    /// <summary>Builds the command.</summary>
    public static Command Create()
    {
        var features = new Option<string>("--features", "-f") { Description = "Feature store from `onnxtransfer extract` (.parquet).", Required = true };
        var output = new Option<string>("--out", "-o") { Description = "Head directory to write.", Required = true };
        var options = new TrainingOptionSet();
        var resume = new Option<bool>("--resume") { Description = "Continue an interrupted run in --out from its checkpoint (same data and options)." };
        var json = JsonOutput.Option();
        var command = new Command("train", "Train a new head on stored features, with the train split (val split or a stratified hold-out for early stopping).")
        {
            features, output, resume, json,
        };
        options.AddTo(command);
        command.SetAction(async (pr, ct) =>
        {
            OutputPaths.RefuseFolderHoldingInputs("--out", pr.GetValue(output)!, [("--features", pr.GetValue(features))]);
            var table = await FeatureStore.ReadAsync(pr.GetValue(features)!, ct);
            var splits = FeatureSplits.From(table);
            var headDir = pr.GetValue(output)!;
            var trainingOptions = options.Read(pr) with { FeatureSource = Path.GetFullPath(pr.GetValue(features)!) };
            var result = await ProgressRenderer.RunAsync("train", p => Task.Run(() => pr.GetValue(resume)
                ? Trainer.Resume(headDir, splits.Train, splits.Validation, progress: p, ct: ct)
                : Trainer.Fit(splits.Train, splits.Validation, trainingOptions, headDir, p, ct), ct));
            var curves = TrainingRenderer.DrawLearningCurves(result);
            if (pr.GetValue(json)) JsonOutput.Write(pr, TrainOutput.From(result, curves), CliJson.Default.TrainOutput);
            else TrainingRenderer.Summarize(result, curves);
            return 0;
        });
        return command;
    }
}

/// <summary>The training options shared by `train` and `fit`.</summary>
internal sealed class TrainingOptionSet
{
    public Option<string> Head { get; } = new Option<string>("--head") { Description = "Head: linear, or mlp:H1[,H2...][+layernorm][+dropout=P].", DefaultValueFactory = _ => "linear" }
        .Parses(text => HeadSpec.Parse(text));
    public Option<int?> Epochs { get; } = new Option<int?>("--epochs") { Description = "Epochs (default 30; early stopping may end sooner)." }.AtLeast(1);
    public Option<double?> LearningRate { get; } = new Option<double?>("--lr") { Description = "Peak learning rate (default 1e-2)." }.Positive();
    public Option<string> Optimizer { get; } = new Option<string>("--optimizer") { Description = "auto (lbfgs for a linear head, else adamw), lbfgs (full-batch, L2 chosen on the validation split; linear heads), adamw or sgd.", DefaultValueFactory = _ => "auto" }
        .Parses(text => ParseEnum(text, "--optimizer", OptimizerKind.Auto));
    public Option<int?> Batch { get; } = new Option<int?>("--batch-size") { Description = "Rows per training step (default 64)." }.AtLeast(1);
    public Option<double?> ValSplit { get; } = new Option<double?>("--val-split") { Description = "Share of each class of the training rows carved out for early stopping (default 0.1; 0: none); train: unless the table has a val split, fit: unless the dataset has both val and test splits (with only val, val is the evaluation set). A linear head solved by L-BFGS uses it to choose its L2 strength, and up to 2,000 rows cross-validates instead (5 folds), then trains on every row." }.Fraction();
    public Option<ulong> Seed { get; } = new("--seed") { Description = "Random seed (shuffling, init, dropout, splits).", DefaultValueFactory = _ => 1UL };
    public Option<string?> Schedule { get; } = new Option<string?>("--schedule") { Description = "constant, cosine (default) or warmup (linear warm-up then decay)." }
        .Parses(text => ParseSchedule(text));
    public Option<string?> Weighting { get; } = new Option<string?>("--class-weights") { Description = "auto (balanced when classes are skewed; default), balanced or none." }
        .Parses(text => ParseEnum(text, "--class-weights", ClassWeighting.Auto));
    public Option<int?> Patience { get; } = new Option<int?>("--patience") { Description = "Epochs without validation improvement before stopping (default 10)." }.AtLeast(0);

    public void AddTo(Command command)
    {
        foreach (var o in new Option[] { Head, Epochs, LearningRate, Optimizer, Batch, ValSplit, Seed, Schedule, Weighting, Patience })
            command.Options.Add(o);
    }

    public TrainingOptions Read(ParseResult pr)
    {
        var defaults = new TrainingOptions();
        var kind = ParseEnum(pr.GetValue(Optimizer), "--optimizer", defaults.Optimizer.Kind);
        return defaults with
        {
            Spec = HeadSpec.Parse(pr.GetValue(Head)!),
            Epochs = pr.GetValue(Epochs) ?? defaults.Epochs,
            LearningRate = pr.GetValue(LearningRate) ?? defaults.LearningRate,
            Optimizer = defaults.Optimizer with { Kind = kind },
            BatchSize = pr.GetValue(Batch) ?? defaults.BatchSize,
            ValidationFraction = pr.GetValue(ValSplit) ?? defaults.ValidationFraction,
            Seed = pr.GetValue(Seed),
            Schedule = ParseSchedule(pr.GetValue(Schedule)) ?? defaults.Schedule,
            ClassWeighting = ParseEnum(pr.GetValue(Weighting), "--class-weights", defaults.ClassWeighting),
            Patience = pr.GetValue(Patience) ?? defaults.Patience,
        };
    }

    private static LearningRateSchedule? ParseSchedule(string? text) =>
        text is null ? null : ParseEnum(text, "--schedule", LearningRateSchedule.Cosine, ("warmup", LearningRateSchedule.WarmupLinear));

    private static T ParseEnum<T>(string? text, string option, T fallback, params (string Alias, T Value)[] aliases) where T : struct, Enum
    {
        if (text is null) return fallback;
        foreach (var (alias, value) in aliases)
            if (string.Equals(alias, text, StringComparison.OrdinalIgnoreCase)) return value;
        return Enum.TryParse<T>(text, ignoreCase: true, out var parsed) ? parsed
            : throw new UsageException($"{option} '{text}': use one of {string.Join(", ", Enum.GetNames<T>().Select(n => n.ToLowerInvariant()))}.");
    }
}
