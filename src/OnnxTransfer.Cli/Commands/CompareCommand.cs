using System.CommandLine;
using OnnxTransfer.Cli.Rendering;
using OnnxTransfer.Comparison;
using OnnxTransfer.Features;

namespace OnnxTransfer.Cli.Commands;

/// <summary>`onnxtransfer compare`: which backbone suits a dataset — a cross-validated linear probe per candidate, speed and size, and a choice.</summary>
internal static class CompareCommand
{
    /// <summary>Builds the command.</summary>
    public static Command Create()
    {
        var data = new Option<string>("--data", "-d") { Description = "Dataset: class folders, train/val/test split folders, or a CSV manifest. Only its training side is probed (fit's evaluation items never are).", Required = true };
        var backbones = new Option<string?>("--backbones", "-b")
        {
            Description = "Candidates, comma-separated: backbone names or .onnx paths. Default: every image backbone available offline (cache, mirror, NuGet global packages folder).",
        };
        var output = new Option<string?>("--out", "-o") { Description = "Folder for the cached features (resumable) and compare.md/.json; default: ./DATASET.compare." };
        var folds = new Option<int>("--folds") { Description = "Folds of the stratified cross-validation (fewer when a class has fewer training items).", DefaultValueFactory = _ => 5 }.AtLeast(2);
        var seed = new Option<ulong>("--seed") { Description = "Seed of the hold-out, --per-class and the folds (fit's --seed picks the same items).", DefaultValueFactory = _ => 1UL };
        var perClass = new Option<int?>("--per-class") { Description = "Probe at most N training items per class (fit's --per-class items); only those are extracted, for a quick look at a large dataset." }.AtLeast(1);
        var holdout = new Option<double>("--holdout") { Description = "Fraction fit holds out for evaluation when the dataset has no val/test split; never probed.", DefaultValueFactory = _ => 0.2 }.OpenFraction();
        var groupBy = new Option<string?>("--group-by")
        {
            Description = "Regular expression on each file name; files with the same first capture group (or whole match) stay on one side of the hold-out and in one fold.",
        };
        var batch = new Option<int>("--batch") { Description = "Images per backbone run during extraction.", DefaultValueFactory = _ => 32 }.AtLeast(1);
        var threads = new Option<int>("--threads") { Description = "Decode workers during extraction.", DefaultValueFactory = _ => Environment.ProcessorCount }.AtLeast(1);
        var outside = new Option<bool>("--allow-outside-paths") { Description = "Read dataset items that resolve outside the dataset folder." };
        var json = JsonOutput.Option();
        var command = new Command("compare", "Which backbone? Extract features with each candidate (cached), cross-validate a linear probe on the training side, measure features/s, latency and size, and pick the best (ties within 1 sd go to the faster).")
        {
            data, backbones, output, folds, seed, perClass, holdout, groupBy, batch, threads, outside, json,
        };
        var device = new DeviceOptions().AddTo(command);
        command.SetAction(async (pr, ct) =>
        {
            var candidates = ParseCandidates(pr.GetValue(backbones));
            var dataPath = pr.GetValue(data)!;
            var folder = Path.GetFullPath(pr.GetValue(output) ?? DefaultFolder(dataPath));
            OutputPaths.RefuseOverlap([("--data", dataPath)], [("--out", folder)]);
            var options = new ComparisonOptions
            {
                Folds = pr.GetValue(folds), Seed = pr.GetValue(seed), PerClass = pr.GetValue(perClass), HoldoutFraction = pr.GetValue(holdout),
                Grouping = pr.GetValue(groupBy) is { } pattern ? OnnxTransfer.Data.ItemGrouping.FileNamePattern(pattern) : null,
                AllowOutsidePaths = pr.GetValue(outside),
                Backbone = new Backbones.FeatureBackboneOptions { Device = device.Read(pr) },
                Extraction = new FeatureExtractionOptions { BatchSize = pr.GetValue(batch), Threads = pr.GetValue(threads) },
            };
            var result = await ProgressRenderer.RunAsync("compare", p => BackboneComparison.RunAsync(dataPath, candidates, folder, options, progress: p, ct: ct));
            if (pr.GetValue(json)) JsonOutput.Write(pr, ComparisonReport.Json(result));
            else ComparisonRenderer.Show(pr.InvocationConfiguration.Output, result, folder);
            return 0;
        });
        return command;
    }

    /// <summary>The names in a comma-separated --backbones value; null (the default candidates) when absent.</summary>
    internal static string[]? ParseCandidates(string? text)
    {
        if (text is null) return null;
        var names = text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        return names.Length > 0 ? names : throw new UsageException($"--backbones '{text}': give one or more backbone names or .onnx paths, comma-separated.");
    }

    private static string DefaultFolder(string dataPath)
    {
        var full = Path.TrimEndingDirectorySeparator(Path.GetFullPath(dataPath));
        var name = File.Exists(full) ? Path.GetFileNameWithoutExtension(full) : Path.GetFileName(full);
        return (name.Length > 0 ? name : "dataset") + ".compare";
    }
}
