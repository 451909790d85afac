using System.CommandLine;
using System.Globalization;
using OnnxTransfer.Backbones;
using OnnxTransfer.Cli.Rendering;
using OnnxTransfer.Curves;
using Spectre.Console;

namespace OnnxTransfer.Cli.Commands;

/// <summary>`onnxtransfer curve`: the transfer learning curve — accuracy vs training examples per class, frozen vs fine-tuned vs raw pixels.</summary>
internal static class CurveCommand
{
    /// <summary>Builds the command.</summary>
    public static Command Create()
    {
        var backbone = new Option<string>("--backbone", "-b") { Description = "Backbone name (see `onnxtransfer backbones`) or .onnx path.", DefaultValueFactory = _ => "mobilenetv2-12-int8" };
        var data = new Option<string>("--data", "-d") { Description = "Dataset: class folders or train/val/test split folders (evaluation: test, else val, else a stratified hold-out).", Required = true };
        var output = new Option<string>("--out", "-o") { Description = "Output folder: curve.md/.csv/.json/.png and the caches (resumable).", Required = true };
        var sizes = new Option<string>("--sizes") { Description = "Training examples per class, comma-separated; 'all' = the whole training pool.", DefaultValueFactory = _ => "5,10,20,50,100,all" };
        var seeds = new Option<int>("--seeds") { Description = "Seeds per size (1..N): each draws its own subsets, initialisation and shuffling.", DefaultValueFactory = _ => 3 };
        var seedsForAll = new Option<int?>("--seeds-largest") { Description = "Seeds for the largest size only (its runs cost the most); default: --seeds." };
        var methods = new Option<string>("--methods") { Description = "Methods, comma-separated: frozen (backbone + linear head), unfrozen (last layers fine-tuned), gradual (the same with gradual unfreezing, as fit does), pixels (linear head on raw pixels).", DefaultValueFactory = _ => "frozen,unfrozen,gradual,pixels" };
        var unfreeze = new Option<int>("--unfreeze") { Description = "Backbone layers the unfrozen method fine-tunes (MobileNetV2: 4 = the last block and the final 1×1 conv; resnet18: 4 = its last residual block, 8 = the last two; layers here, where fit --unfreeze counts a ResNet's blocks).", DefaultValueFactory = _ => 4 };
        var pixelSize = new Option<int>("--pixel-size") { Description = "Side of the raw-pixel image of the no-transfer baseline.", DefaultValueFactory = _ => 32 }.AtLeast(1);
        var holdout = new Option<double>("--holdout") { Description = "Fraction held out for evaluation when the dataset has no val/test split.", DefaultValueFactory = _ => 0.2 }.OpenFraction();
        var groupBy = new Option<string?>("--group-by")
        {
            Description = "Regular expression on each file name; files with the same first capture group (or whole match) stay on one side of every split, " +
                          "e.g. 'person(\\d+)_' keeps one patient's scans together. Every file name must match.",
        };
        var minSteps = new Option<int>("--min-steps") { Description = "Each run takes at least this many optimizer steps (epochs are raised for tiny subsets).", DefaultValueFactory = _ => 100 }.AtLeast(1);
        var maxSteps = new Option<int>("--max-fine-tune-steps") { Description = "Fine-tuning runs take at most this many optimizer steps (epochs are lowered for large pools).", DefaultValueFactory = _ => 1000 }.AtLeast(1);
        var threads = new Option<int>("--threads") { Description = "Threads of the training sessions.", DefaultValueFactory = _ => Math.Min(2, Environment.ProcessorCount) }.AtLeast(1);
        var command = new Command("curve", "Transfer learning curve: accuracy vs training examples per class for a frozen backbone + linear head, the same with the last block fine-tuned, and a linear head on raw pixels (no transfer); several seeds, one evaluation set; writes curve.png and a table.")
        {
            backbone, data, output, sizes, seeds, seedsForAll, methods, unfreeze, pixelSize, holdout, groupBy, minSteps, maxSteps, threads,
        };
        var device = new DeviceOptions().AddTo(command);
        command.SetAction(async (pr, ct) =>
        {
            var options = new CurveOptions
            {
                Sizes = ParseSizes(pr.GetValue(sizes)!),
                Seeds = pr.GetValue(seeds) is var n and >= 1 ? Enumerable.Range(1, n).Select(i => (ulong)i).ToArray()
                    : throw new OnnxTransferException($"--seeds {pr.GetValue(seeds)}: give at least 1."),
                SeedsForAll = pr.GetValue(seedsForAll),
                Methods = ParseMethods(pr.GetValue(methods)!),
                Unfreeze = pr.GetValue(unfreeze),
                PixelSize = pr.GetValue(pixelSize),
                HoldoutFraction = pr.GetValue(holdout),
                Grouping = pr.GetValue(groupBy) is { } pattern ? OnnxTransfer.Data.ItemGrouping.FileNamePattern(pattern) : null,
                MinSteps = pr.GetValue(minSteps),
                MaxFineTuneSteps = pr.GetValue(maxSteps),
                Threads = Math.Max(1, pr.GetValue(threads)),
            };
            options.Validate();
            var outDir = Path.GetFullPath(pr.GetValue(output)!);
            using var fb = await ProgressRenderer.RunAsync("pull", p => FeatureBackbone.LoadAsync(pr.GetValue(backbone)!, new FeatureBackboneOptions { Device = device.Read(pr) }, p, ct));
            if (fb.DeviceWarning is { } warning) CliConsole.Warning(warning);
            var dataset = fb.LoadDataset(pr.GetValue(data)!);
            var result = await ProgressRenderer.RunAsync("curve", p => Task.Run(() => TransferCurve.RunAsync(fb, dataset, outDir, options, p, ct), ct));
            CurveReport.Write(result, outDir);
            Show(result);
            Console.WriteLine($"table: {Path.Combine(outDir, CurveReport.MarkdownFileName)}");
            Console.WriteLine($"plot: {Path.Combine(outDir, CurveReport.PlotFileName)} (balanced accuracy: {CurveReport.BalancedPlotFileName})");
            return 0;
        });
        return command;
    }

    private static int?[] ParseSizes(string text) => text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
        .Select(s => s.Equals("all", StringComparison.OrdinalIgnoreCase) ? (int?)null
            : int.TryParse(s, CultureInfo.InvariantCulture, out var k) && k >= 1 ? k
            : throw new OnnxTransferException($"--sizes '{text}': '{s}' is not a positive number or 'all'; e.g. --sizes 5,10,20,all.")).ToArray();

    private static CurveMethod[] ParseMethods(string text) => text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
        .Select(s => Enum.TryParse<CurveMethod>(s, ignoreCase: true, out var m) && !int.TryParse(s, out _) ? m
            : throw new OnnxTransferException($"--methods '{text}': '{s}' is not frozen, unfrozen, gradual or pixels.")).ToArray();

    private static void Show(CurveResult result)
    {
        var points = result.Points();
        var methods = points.Select(p => p.Method).Distinct().Order().ToArray();
        var table = new Table().RoundedBorder().Title($"accuracy on {Markup.Escape(result.EvalName)} ({result.EvalCount} images), mean ± sd (seeds)");
        table.AddColumn("examples/class");
        foreach (var m in methods) table.AddColumn(Markup.Escape(CurveReport.MethodName(m, result.Settings)));
        foreach (var size in points.Select(p => p.PerClass).Distinct())
        {
            var cells = new List<string> { CurveOptions.SizeText(size) };
            foreach (var m in methods)
                cells.Add(points.FirstOrDefault(p => p.Method == m && p.PerClass == size) is { } p
                    ? string.Create(CultureInfo.InvariantCulture, $"{100 * p.Accuracy:F1}{(double.IsNaN(p.AccuracySd) ? "" : $" ± {100 * p.AccuracySd:F1}")} ({p.Seeds}) · bal {100 * p.BalancedAccuracy:F1}")
                    : "–");
            table.AddRow(cells.ToArray());
        }
        AnsiConsole.Write(table);
    }
}
