using System.CommandLine;
using OnnxTransfer.Cli.Rendering;
using OnnxTransfer.WakeWords;

namespace OnnxTransfer.Cli.Commands;

/// <summary><c>onnxtransfer wakeword calibrate --model WW.onnx --data DIR [--target-fa-per-hour 0.5] [--max-val-frr F]</c>.</summary>
internal static class WakeWordCalibrateCommand
{
    /// <summary>Builds the command.</summary>
    public static Command Create()
    {
        var model = new Option<string>("--model", "-m") { Description = "The wake-word model whose stored threshold is set (rewritten in place).", Required = true };
        var data = new Option<string>("--data", "-d") { Description = "The `wakeword synth` folder it was trained on (its val voices are the held-out audio).", Required = true };
        var target = new Option<double>("--target-fa-per-hour") { Description = "False accepts per hour the threshold must meet.", DefaultValueFactory = _ => 0.5 };
        var minutes = new Option<double>("--minutes") { Description = "Minutes of held-out negative streams.", DefaultValueFactory = _ => 15.0 };
        var maxFrr = new Option<double?>("--max-val-frr")
        {
            Description = "Also reject at most this share of the val positives (held-out synthetic voices), in [0, 1): lowers the threshold where the false-accept target alone would reject more (default: no cap).",
        }.Fraction();
        var command = new Command("calibrate", "Choose and store a wake-word model's threshold for a false-accept rate, on held-out voices (no retraining).")
        {
            model, data, target, minutes, maxFrr,
        };
        command.SetAction(async (pr, ct) =>
        {
            using var frontEnd = await WakeWordCommand.OpenFrontEndAsync(quiet: true, ct);
            var path = pr.GetValue(model)!;
            var cache = Path.Combine(Path.GetDirectoryName(Path.GetFullPath(path))!, Path.GetFileNameWithoutExtension(path) + ".features");
            var cal = await ProgressRenderer.RunAsync("calibrate", progress => Task.Run(() =>
                ThresholdCalibrator.CalibrateAsync(path, pr.GetValue(data)!, frontEnd, pr.GetValue(target), pr.GetValue(minutes), cacheDir: cache, progress: progress, ct: ct,
                    maxValFalseRejectRate: pr.GetValue(maxFrr)), ct));
            Console.WriteLine(WakeWordTrainCommand.Describe(cal));
            return 0;
        });
        return command;
    }
}
