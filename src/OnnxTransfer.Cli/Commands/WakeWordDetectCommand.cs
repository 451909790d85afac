using System.CommandLine;
using OnnxTransfer.Audio;
using OnnxTransfer.Cli.Rendering;
using OnnxTransfer.WakeWords;

namespace OnnxTransfer.Cli.Commands;

/// <summary><c>onnxtransfer wakeword detect --model WW.onnx FILE.wav... [--threshold X] [--json]</c>.</summary>
internal static class WakeWordDetectCommand
{
    /// <summary>Builds the command.</summary>
    public static Command Create()
    {
        var files = new Argument<string[]>("files") { Description = "WAV files to scan.", Arity = ArgumentArity.OneOrMore };
        var models = new Option<string[]>("--model", "-m") { Description = "Wake-word model (repeat --model for several; they share one front end): from `wakeword train` or an openWakeWord head.", Required = true };
        var threshold = new Option<double?>("--threshold") { Description = "Score threshold (default: the threshold calibrated into the model at training time, else 0.5)." };
        var patience = new Option<int>("--patience") { Description = "Consecutive 80 ms frames above the threshold needed.", DefaultValueFactory = _ => 1 };
        var debounce = new Option<double>("--debounce") { Description = "Seconds before the same wake word can fire again.", DefaultValueFactory = _ => 1.5 };
        var vad = new Option<string?>("--vad") { Description = "silero_vad.onnx: ignore frames without speech in the last second." };
        var vadThreshold = new Option<double>("--vad-threshold") { Description = "Speech probability the VAD gate needs.", DefaultValueFactory = _ => 0.5 };
        var json = new Option<bool>("--json") { Description = "One JSON object per detection per line: file, wake_word, time, score." };
        var command = new Command("detect", "Stream WAV files through wake-word models and print the detections with timestamps.")
        {
            files, models, threshold, patience, debounce, vad, vadThreshold, json,
        };
        command.SetAction(async (pr, ct) =>
        {
            var asJson = pr.GetValue(json);
            using var frontEnd = await WakeWordCommand.OpenFrontEndAsync(quiet: true, ct);
            var heads = pr.GetValue(models)!.Select(m => new WakeWordModel(m)).ToArray();
            if (heads.Select(h => h.Name).Distinct().Count() < heads.Length)
            {
                // Two models for the same word (e.g. ours and openWakeWord's): tell them apart by file name.
                foreach (var h in heads) h.Dispose();
                heads = pr.GetValue(models)!.Select(m => new WakeWordModel(m, Path.GetFileNameWithoutExtension(m))).ToArray();
            }
            using var vadModel = pr.GetValue(vad) is { } vadPath ? new VoiceActivityDetector(vadPath) : null;
            try
            {
                var settings = new DetectionSettings
                {
                    Threshold = pr.GetValue(threshold),
                    Patience = pr.GetValue(patience),
                    DebounceSeconds = pr.GetValue(debounce),
                    VadThreshold = vadModel is null ? null : pr.GetValue(vadThreshold),
                };
                var detector = new WakeWordDetector(frontEnd, heads, settings, vadModel);
                foreach (var file in pr.GetValue(files)!)
                {
                    ct.ThrowIfCancellationRequested();
                    detector.Reset();
                    var samples = WavReader.Read(file).ResampleTo(SpeechFrontEnd.SampleRate).Samples;
                    var found = detector.Push(samples);
                    foreach (var d in found)
                    {
                        Console.WriteLine(asJson
                            ? JsonText.Write(new DetectionLine(file, d.WakeWord, Math.Round(d.Time, 3), Math.Round(d.Score, 4)), CliJson.Default.DetectionLine, indented: false)
                            : $"{file}\t{d.Time,8:F2} s\t{d.WakeWord}\t{d.Score:F3}");
                    }
                    if (!asJson && found.Count == 0) Console.WriteLine($"{file}\t(no detection in {detector.Time:F2} s)");
                }
            }
            finally
            {
                foreach (var h in heads) h.Dispose();
            }
            return 0;
        });
        return command;
    }
}
