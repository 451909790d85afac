using System.CommandLine;
using OnnxTransfer.Backbones;
using OnnxTransfer.Benchmarks;
using OnnxTransfer.Cli.Rendering;
using OnnxTransfer.Features;
using OnnxTransfer.Runtime;

namespace OnnxTransfer.Cli.Commands;

/// <summary>`onnxtransfer bench extract|train|finetune`: measure our pipeline against naive code, ML.NET peers and the machine's limit.</summary>
internal static class BenchCommand
{
    /// <summary>Builds the command.</summary>
    public static Command Create() => new("bench", "Benchmarks: feature extraction and head training against naive code and ML.NET (bench/ peers), fine-tuning with and without the activation cache, with ratios.")
    {
        Extract(),
        Photos(),
        Train(),
        FineTune(),
    };

    private static Option<string?> PeersOption() => new("--peers")
    {
        Description = "The repository's bench/ folder with the ML.NET peer projects (default: found upwards from here or from the tool).",
    };

    private static Option<bool> NoPeerOption() => new("--no-peer") { Description = "Skip the ML.NET peer." };

    private static Option<bool> JsonOption() => new("--json") { Description = "Print all figures as JSON instead of tables." };

    private static string? BenchFolder(ParseResult pr, Option<string?> peers, Option<bool> noPeer)
    {
        if (pr.GetValue(noPeer)) return null;
        if (pr.GetValue(peers) is { } given)
            return Directory.Exists(given) ? Path.GetFullPath(given)
                : throw new OnnxTransferException($"--peers {given}: no such folder; give the repository's bench/ folder.");
        return PeerProgram.FindBenchFolder([Environment.CurrentDirectory, AppContext.BaseDirectory]);
    }

    private static Command Extract()
    {
        var backbone = new Option<string>("--backbone", "-b") { Description = "Backbone name or .onnx path.", Required = true };
        var data = new Option<string[]>("--data", "-d")
        {
            Description = "Image dataset folder (the ML.NET peer reads every image under it); repeat it to measure several sets in one run.",
            Required = true,
            AllowMultipleArgumentsPerToken = true,
        };
        var peerStages = new Option<bool>("--peer-stages") { Description = "Also run ML.NET's pipeline cut after each stage, to split its time by stage." };
        var noProcess = new Option<bool>("--no-process") { Description = "Skip the whole-process runs of `extract` (alternated with the ML.NET program)." };
        var batch = new Option<int>("--batch") { Description = "Items per inference call (our pipeline, its `extract` process and the inference runs).", DefaultValueFactory = _ => 4 };
        var repeat = new Option<int>("--repeat") { Description = "Runs of every measurement (figures are medians).", DefaultValueFactory = _ => 3 };
        var threads = new Option<int?>("--threads") { Description = "Decode workers of our pipeline (default: the pipeline's)." };
        var intraOp = new Option<int?>("--intra-op") { Description = "ORT intra-op threads of our pipeline's session (default: the extractor's)." };
        var spin = new Option<bool>("--intra-op-spin") { Description = "Let ORT's intra-op threads of our pipeline's session spin between operators." };
        var peers = PeersOption();
        var noPeer = NoPeerOption();
        var json = JsonOption();
        var command = new Command("extract", "Images/s of our extraction pipeline vs a naive loop, inference alone, ML.NET's image pipeline and the machine's limit.")
        {
            backbone, data, batch, repeat, threads, intraOp, spin, peers, noPeer, peerStages, noProcess, json,
        };
        command.SetAction(async (pr, ct) =>
        {
            var settings = pr.GetValue(intraOp) is { } n ? SessionSettings.Default with { IntraOpThreads = Math.Max(1, n) } : null;
            using var fb = await ProgressRenderer.RunAsync("pull", p => FeatureBackbone.LoadAsync(pr.GetValue(backbone)!,
                new FeatureBackboneOptions { Device = ExecutionDevice.Cpu, Settings = settings, IntraOpSpinning = pr.GetValue(spin) }, p, ct));
            var bench = BenchFolder(pr, peers, noPeer);
            var results = new List<(string Data, ExtractionBenchmarkResult Result)>();
            foreach (var folder in pr.GetValue(data)!)
            {
                var dataset = fb.LoadDataset(folder);
                var options = new ExtractionBenchmarkOptions
                {
                    BatchSize = pr.GetValue(batch),
                    Repeat = pr.GetValue(repeat),
                    DecodeThreads = pr.GetValue(threads),
                    BenchFolder = bench,
                    PeerStages = pr.GetValue(peerStages),
                    // The child `extract` gets the same session tuning only when none was given here.
                    ExtractCommand = pr.GetValue(noProcess) || settings is not null || pr.GetValue(spin) ? null : ProcessCommand.Self(),
                    BackboneArgument = pr.GetValue(backbone),
                };
                var result = await ProgressRenderer.RunAsync("bench", p => ExtractionBenchmark.RunAsync(fb, dataset.Items, dataset.Root, options, p, ct));
                results.Add((folder, result));
                if (!pr.GetValue(json))
                {
                    Console.WriteLine(folder);
                    BenchmarkRenderer.Extraction(result);
                    Console.WriteLine();
                }
            }
            if (pr.GetValue(json))
            {
                if (results.Count == 1) JsonOutput.Write(pr, results[0].Result, CliJson.Default.ExtractionBenchmarkResult);
                else JsonOutput.Write(pr, results.Select(r => r.Result).ToArray(), CliJson.Default.ExtractionBenchmarkResultArray);
            }
            else if (results.Count > 1) BenchmarkRenderer.ExtractionSummary(results);
            return 0;
        });
        return command;
    }

    private static Command Photos()
    {
        var from = new Option<string>("--from") { Description = "Image dataset to upscale (class folders are kept).", Required = true };
        var output = new Option<string>("--out", "-o") { Description = "Folder to write the set into (images already there are kept).", Required = true };
        var count = new Option<int>("--count") { Description = "Images to write.", DefaultValueFactory = _ => 120 }.AtLeast(1);
        var megapixels = new Option<double>("--megapixels") { Description = "Target size in megapixels, aspect kept.", DefaultValueFactory = _ => 12 };
        var longSide = new Option<int?>("--long-side") { Description = "Target longer side in pixels instead of --megapixels." };
        var noise = new Option<int>("--noise") { Description = "Uniform noise per channel, ± levels.", DefaultValueFactory = _ => 6 }.AtLeast(0);
        var command = new Command("photos", "Makes a multi-megapixel JPEG set for `bench extract` by upscaling a small dataset (bilinear, with noise).")
        {
            from, output, count, megapixels, longSide, noise,
        };
        command.SetAction(async (pr, ct) =>
        {
            var options = new PhotoSetOptions { Count = pr.GetValue(count), Megapixels = pr.GetValue(megapixels), LongSide = pr.GetValue(longSide), Noise = pr.GetValue(noise) };
            var files = await ProgressRenderer.RunAsync("photos", p => Task.Run(() => PhotoSet.Make(pr.GetValue(from)!, pr.GetValue(output)!, options, p, ct), ct));
            Console.WriteLine($"{files.Count} images in {Path.GetFullPath(pr.GetValue(output)!)}");
            return 0;
        });
        return command;
    }

    private static Command Train()
    {
        var features = new Option<string>("--features", "-f") { Description = "Feature store from `onnxtransfer extract` (.parquet).", Required = true };
        var repeat = new Option<int>("--repeat") { Description = "Runs of every trainer (times are medians).", DefaultValueFactory = _ => 3 };
        var holdout = new Option<double>("--holdout") { Description = "Held-out fraction when the table has no val/test split, or of every --resplits split (stratified).", DefaultValueFactory = _ => 0.2 };
        var seed = new Option<ulong>("--split-seed") { Description = "Seed of that split (with --resplits: of the first split).", DefaultValueFactory = _ => 0UL };
        var resplits = new Option<int>("--resplits")
        {
            Description = "Pool every labelled row (all splits) and compare on this many stratified splits, seeds --split-seed.. (0: the table's own split).",
            DefaultValueFactory = _ => 0,
        }.AtLeast(0);
        var trainers = new Option<string>("--trainers") { Description = "ML.NET trainers: lbfgs, sdca.", DefaultValueFactory = _ => "lbfgs,sdca" };
        var training = new TrainingOptionSet();
        var peers = PeersOption();
        var noPeer = NoPeerOption();
        var json = JsonOption();
        var command = new Command("train", "Wall time and held-out accuracy of our trainer vs ML.NET's LbfgsMaximumEntropy and SdcaMaximumEntropy on the same rows.")
        {
            features, repeat, holdout, seed, resplits, trainers, peers, noPeer, json,
        };
        training.AddTo(command);
        command.SetAction(async (pr, ct) =>
        {
            var table = await FeatureStore.ReadAsync(pr.GetValue(features)!, ct);
            var options = new TrainingBenchmarkOptions
            {
                Training = training.Read(pr),
                Repeat = pr.GetValue(repeat),
                HoldoutFraction = pr.GetValue(holdout),
                SplitSeed = pr.GetValue(seed),
                BenchFolder = BenchFolder(pr, peers, noPeer),
                PeerTrainers = pr.GetValue(trainers)!.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries),
            };
            if (pr.GetValue(resplits) is > 0 and var count)
            {
                var over = await ProgressRenderer.RunAsync("bench", p => ResplitBenchmark.RunAsync(table, count, options, p, ct));
                if (pr.GetValue(json)) JsonOutput.Write(pr, over, CliJson.Default.ResplitBenchmarkResult);
                else BenchmarkRenderer.Resplits(over, pr.GetValue(features)!);
                return 0;
            }
            var result = await ProgressRenderer.RunAsync("bench", p => TrainingBenchmark.RunAsync(table, options, p, ct));
            if (pr.GetValue(json)) JsonOutput.Write(pr, result, CliJson.Default.TrainingBenchmarkResult);
            else BenchmarkRenderer.Training(result, pr.GetValue(features)!);
            return 0;
        });
        return command;
    }

    private static Command FineTune()
    {
        var backbone = new Option<string>("--backbone", "-b") { Description = "Image backbone name or .onnx path.", DefaultValueFactory = _ => "mobilenetv2-12-int8" };
        var data = new Option<string>("--data", "-d") { Description = "Labelled image dataset; its train split (or all of it) is used.", Required = true };
        var unfreeze = new Option<int>("--unfreeze") { Description = "Backbone layers unfrozen.", DefaultValueFactory = _ => 4 };
        var epochs = new Option<int>("--epochs") { Description = "Epochs per training run.", DefaultValueFactory = _ => 2 };
        var repeat = new Option<int>("--repeat") { Description = "Training runs per mode (figures are medians).", DefaultValueFactory = _ => 2 };
        var json = JsonOption();
        var command = new Command("finetune", "Seconds per fine-tuning epoch on cached boundary activations vs running the whole network every epoch, same loop and data.")
        {
            backbone, data, unfreeze, epochs, repeat, json,
        };
        command.SetAction(async (pr, ct) =>
        {
            if (pr.GetValue(epochs) < 1 || pr.GetValue(repeat) < 1 || pr.GetValue(unfreeze) < 1)
                throw new OnnxTransferException("bench finetune: --unfreeze, --epochs and --repeat must be at least 1.");
            using var fb = await ProgressRenderer.RunAsync("pull", p => FeatureBackbone.LoadAsync(pr.GetValue(backbone)!, new FeatureBackboneOptions { Device = ExecutionDevice.Cpu }, p, ct));
            var dataset = fb.LoadDataset(pr.GetValue(data)!);
            var items = dataset.InSplit("train").Items is { Count: > 0 } train ? train : dataset.Items;
            var options = new FineTuneBenchmarkOptions { Unfreeze = pr.GetValue(unfreeze), Epochs = pr.GetValue(epochs), Repeat = pr.GetValue(repeat) };
            var result = await ProgressRenderer.RunAsync("bench", p => Task.Run(() => FineTuneBenchmark.Run(fb, items, options, p, ct), ct));
            if (pr.GetValue(json)) JsonOutput.Write(pr, result, CliJson.Default.FineTuneBenchmarkResult);
            else BenchmarkRenderer.FineTune(result, fb.Name);
            return 0;
        });
        return command;
    }
}
