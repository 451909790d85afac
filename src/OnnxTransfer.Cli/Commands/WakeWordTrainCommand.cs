using System.CommandLine;
using OnnxTransfer.Cli.Rendering;
using OnnxTransfer.WakeWords;
using OnnxTransfer.Training.Heads;

namespace OnnxTransfer.Cli.Commands;

/// <summary><c>onnxtransfer wakeword train --data DIR --out WW.onnx</c>.</summary>
internal static class WakeWordTrainCommand
{
    /// <summary>Builds the command.</summary>
    public static Command Create()
    {
        var data = new Option<string>("--data", "-d") { Description = "Dataset folder with positive/negative clips (e.g. from `wakeword synth`); a test split is ignored.", Required = true };
        var output = new Option<string>("--out", "-o") { Description = "The wake-word model to write (.onnx).", Required = true };
        var name = new Option<string?>("--name") { Description = "Wake word name (default: the phrase in synth.json)." };
        var defaults = new WakeWordTrainingOptions();
        var spec = new Option<string>("--spec") { Description = "Head architecture.", DefaultValueFactory = _ => defaults.Spec.ToString() };
        var epochs = new Option<int>("--epochs") { Description = "Epochs per training round.", DefaultValueFactory = _ => defaults.Epochs };
        var lr = new Option<double>("--lr") { Description = "Learning rate.", DefaultValueFactory = _ => 1e-3 };
        var negativeWeight = new Option<double>("--negative-weight") { Description = "Total negative weight relative to positives (higher: fewer false accepts).", DefaultValueFactory = _ => defaults.NegativeWeight };
        var rounds = new Option<int>("--mining-rounds") { Description = "Hard-negative mining rounds (score long negative streams, add high-scoring windows, retrain).", DefaultValueFactory = _ => defaults.MiningRounds };
        var smoothing = new Option<double>("--label-smoothing") { Description = "Label smoothing of the 0/1 targets.", DefaultValueFactory = _ => defaults.LabelSmoothing };
        var copies = new Option<int>("--copies") { Description = "Augmented copies of every positive clip (negatives get 2).", DefaultValueFactory = _ => defaults.PositiveCopies };
        var real = new Option<string?>("--real") { Description = "Folder of your own recordings of the phrase (5-20 clips help): augmented like the rest and weighted." };
        var realCopies = new Option<int>("--real-copies") { Description = "Augmented copies of every --real recording (its weight).", DefaultValueFactory = _ => defaults.RealCopies };
        var noise = new Option<string?>("--noise") { Description = "Folder of background recordings to mix under the speech (default: synthetic noise and babble)." };
        var target = new Option<double>("--target-fa-per-hour") { Description = "False accepts per hour the stored threshold is calibrated for (on held-out voices).", DefaultValueFactory = _ => defaults.TargetFalseAcceptsPerHour };
        var mine = new Option<string[]>("--mine") { Description = "Extra long negative .wav files to mine hard negatives from.", AllowMultipleArgumentsPerToken = true };
        var seed = new Option<ulong>("--seed") { Description = "Random seed.", DefaultValueFactory = _ => 1UL };
        var command = new Command("train", "Train a wake-word head on [16,96] speech-embedding windows and export one model ([N,16,96] -> score).")
        {
            data, output, name, spec, epochs, lr, negativeWeight, rounds, smoothing, copies, real, realCopies, noise, target, mine, seed,
        };
        command.SetAction(async (pr, ct) =>
        {
            OutputPaths.RefuseOverlap([("--data", pr.GetValue(data))], [("--out", pr.GetValue(output))]);
            using var frontEnd = await WakeWordCommand.OpenFrontEndAsync(quiet: false, ct);
            var options = new WakeWordTrainingOptions
            {
                Name = pr.GetValue(name),
                Spec = HeadSpec.Parse(pr.GetValue(spec)!),
                Epochs = pr.GetValue(epochs),
                LearningRate = pr.GetValue(lr),
                NegativeWeight = pr.GetValue(negativeWeight),
                MiningRounds = pr.GetValue(rounds),
                MiningAudio = pr.GetValue(mine) ?? [],
                PositiveCopies = pr.GetValue(copies),
                LabelSmoothing = pr.GetValue(smoothing),
                RealPositives = pr.GetValue(real),
                RealCopies = pr.GetValue(realCopies),
                NoiseFolder = pr.GetValue(noise),
                TargetFalseAcceptsPerHour = pr.GetValue(target),
                Seed = pr.GetValue(seed),
            };
            var result = await ProgressRenderer.RunAsync("wakeword train", progress =>
                Task.Run(() => WakeWordTrainer.TrainAsync(pr.GetValue(data)!, pr.GetValue(output)!, frontEnd, options, null, progress, ct), ct));
            var m = result.Training.Info.Metrics;
            Console.WriteLine($"wake word '{result.Name}': {result.Positives} positive, {result.Negatives} negative clips; mined per round: [{string.Join(", ", result.Mined)}]");
            Console.WriteLine($"final head: {m.EpochsRun} epochs (best {m.BestEpoch}), train loss {m.TrainLoss:F4} acc {m.TrainAccuracy:P1}, val loss {m.ValLoss:F4} acc {m.ValAccuracy:P1}");
            Console.WriteLine(Describe(result.Calibration));
            Console.WriteLine($"wrote {result.ModelPath} (threshold stored; `wakeword detect` uses it unless --threshold is given)");
            return 0;
        });
        return command;
    }

    /// <summary>One line about a stored threshold.</summary>
    internal static string Describe(ThresholdCalibration cal) =>
        $"threshold {cal.Threshold:0.####} for <= {cal.TargetFalseAcceptsPerHour} FA/h ({cal.FalseAcceptsPerHour:F2} FA/h on {cal.Hours * 60:F0} min of {cal.Source}" +
        (cal.ValFalseRejectRate is { } frr ? $"; FRR {frr:P1} on val-voice positives, synthetic: not evidence about real voices)" : ")");
}
