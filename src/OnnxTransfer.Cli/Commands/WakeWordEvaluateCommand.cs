using System.CommandLine;
using System.Globalization;
using OnnxTransfer.Cli.Rendering;
using OnnxTransfer.WakeWords;

namespace OnnxTransfer.Cli.Commands;

/// <summary><c>onnxtransfer wakeword evaluate --model WW.onnx --positives DIR --negatives DIR|FILES [--target-fa-per-hour 0.5] [--report DIR]</c>.</summary>
internal static class WakeWordEvaluateCommand
{
    /// <summary>Builds the command.</summary>
    public static Command Create()
    {
        var models = new Option<string[]>("--model", "-m") { Description = "Wake-word model(s) to compare (ours or openWakeWord heads); the audio is embedded once.", Required = true, AllowMultipleArgumentsPerToken = true };
        var positives = new Option<string[]>("--positives") { Description = "Positive clips: .wav files or folders.", Required = true, AllowMultipleArgumentsPerToken = true };
        var negatives = new Option<string[]>("--negatives") { Description = "Negative audio: each folder (its .wav files back to back) or file is one long stream.", Required = true, AllowMultipleArgumentsPerToken = true };
        var target = new Option<double>("--target-fa-per-hour") { Description = "False accepts per hour the recommended threshold must meet.", DefaultValueFactory = _ => 0.5 };
        var patience = new Option<int>("--patience") { Description = "Consecutive frames above the threshold needed.", DefaultValueFactory = _ => 1 };
        var debounce = new Option<double>("--debounce") { Description = "Seconds between counted false accepts.", DefaultValueFactory = _ => 1.5 };
        var threshold = new Option<double?>("--threshold") { Description = "List the false accepts (file and time) at this threshold (default: each model's own, else 0.5)." };
        var report = new Option<string?>("--report") { Description = "Folder for report.json, report.md, det.png and report.html." };
        var training = new Option<string[]>("--training-data") { Description = "The folders the models were trained on (synth output, --real, --noise): refuse any evaluation file or speaker/voice they contain.", AllowMultipleArgumentsPerToken = true };
        var command = new Command("evaluate", "False rejects on positive clips, false accepts per hour on long negative audio, DET curve and a recommended threshold.")
        {
            models, positives, negatives, target, patience, debounce, threshold, report, training,
        };
        command.SetAction(async (pr, ct) =>
        {
            var options = new WakeWordEvaluationOptions
            {
                TargetFalseAcceptsPerHour = pr.GetValue(target),
                Patience = pr.GetValue(patience),
                DebounceSeconds = pr.GetValue(debounce),
                OperatingThreshold = pr.GetValue(threshold),
            };
            using var frontEnd = await WakeWordCommand.OpenFrontEndAsync(quiet: true, ct);
            var audio = await ProgressRenderer.RunAsync("embed evaluation audio", progress => Task.Run(() =>
                WakeWordEvaluationAudio.Load(frontEnd, pr.GetValue(positives)!, pr.GetValue(negatives)!, options, 0, progress, ct), ct));
            if (pr.GetValue(training) is { Length: > 0 } trainingDirs)
            {
                var files = trainingDirs.SelectMany(d => Directory.Exists(d) ? Directory.EnumerateFiles(d, "*.wav", SearchOption.AllDirectories)
                    : throw new OnnxTransferException($"--training-data {d}: folder not found.")).ToArray();
                var speakers = trainingDirs.Select(SynthesisManifest.TryRead).Where(m => m is not null).SelectMany(m => m!.TrainSpeakers.Concat(m.ValSpeakers))
                    .Concat(files.Select(SpeakerIdentity.Of)).ToArray();
                SpeakerIdentity.CheckDisjoint(audio.PositiveNames, files, speakers, "positive");
                SpeakerIdentity.CheckDisjoint(audio.NegativeFiles.SelectMany(f => f), files, speakers, "negative");
                Console.WriteLine($"checked: no evaluation file or speaker/voice occurs in the training data ({files.Length} files, {speakers.Distinct().Count()} speakers/voices)");
            }
            var results = new List<WakeWordEvaluation>();
            foreach (var path in pr.GetValue(models)!)
            {
                using var model = new WakeWordModel(path);
                results.Add(WakeWordEvaluator.Evaluate(model, path, audio, options));
            }
            var c = CultureInfo.InvariantCulture;
            Console.WriteLine(string.Create(c, $"{audio.PositiveNames.Count} positive clips ({audio.PositiveSpeakers.Count} speakers/voices), {audio.NegativeSeconds / 60:F1} min negative audio ({audio.NegativeSpeakers.Count} speakers/voices)"));
            foreach (var r in results)
            {
                Console.WriteLine(string.Create(c, $"{r.Model} ({r.WakeWord}):"));
                Console.WriteLine(string.Create(c, $"  threshold 0.5: FRR {r.AtDefault.FalseRejectRate:P1}, {r.AtDefault.FalseAcceptsPerHour:F2} FA/h"));
                if (r.AtModelThreshold is { } own)
                    Console.WriteLine(string.Create(c, $"  the model's own threshold {own.Threshold:0.###}: FRR {own.FalseRejectRate:P1}, {own.FalseAcceptsPerHour:F2} FA/h"));
                Console.WriteLine(string.Create(c, $"  recommended {r.RecommendedThreshold} for <= {r.TargetFalseAcceptsPerHour} FA/h: FRR {r.FalseRejectText(r.AtRecommended)}, {r.AtRecommended.FalseAcceptsPerHour:F2} FA/h"));
                if (audio.PositiveSpeakers.Count > 1)
                    Console.WriteLine($"    missed there, by speaker/voice: {WakeWordEvaluator.MissesText(WakeWordEvaluator.MissesBySpeaker(r, audio))}");
            }
            if (pr.GetValue(report) is { } dir)
            {
                WakeWordEvaluator.WriteReport(dir, results, audio);
                Console.WriteLine($"wrote {Path.Combine(dir, "report.md")}, report.json, det.png; open in a browser: {Path.GetFullPath(Path.Combine(dir, "report.html"))}");
            }
            return 0;
        });
        return command;
    }
}
