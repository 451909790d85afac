using OnnxTransfer.Benchmarks;
using System.CommandLine;
using System.Globalization;
using OnnxTransfer.Audio;
using OnnxTransfer.WakeWords;

namespace OnnxTransfer.Cli.Commands;

/// <summary><c>onnxtransfer wakeword bench --model WW.onnx [--heads 4] [--audio FILE.wav]</c>.</summary>
internal static class WakeWordBenchCommand
{
    /// <summary>Builds the command.</summary>
    public static Command Create()
    {
        var model = new Option<string>("--model", "-m") { Description = "Wake-word model to stream.", Required = true };
        var heads = new Option<int>("--heads") { Description = "Copies of the model in the multi-head run.", DefaultValueFactory = _ => 4 };
        var audioFile = new Option<string?>("--audio") { Description = "Audio to stream (default: 60 s of synthetic noise)." };
        var command = new Command("bench", "Streaming cost on one thread: real-time factor with one head and per extra head.")
        {
            model, heads, audioFile,
        };
        command.SetAction(async (pr, ct) =>
        {
            using var frontEnd = await WakeWordCommand.OpenFrontEndAsync(quiet: true, ct);
            var count = Math.Max(1, pr.GetValue(heads));
            var loaded = Enumerable.Range(0, count).Select(_ => new WakeWordModel(pr.GetValue(model)!)).ToArray();
            try
            {
                var audio = pr.GetValue(audioFile) is { } f
                    ? WavReader.Read(f).ResampleTo(SpeechFrontEnd.SampleRate).Samples
                    : Audio.Augmentation.NoiseMixer.Pink(60 * SpeechFrontEnd.SampleRate, new SeededRandom(1)).Select(x => x * 0.05f).ToArray();
                var r = WakeWordBenchmark.Measure(frontEnd, loaded, audio);
                var c = CultureInfo.InvariantCulture;
                Console.WriteLine(string.Create(c, $"{r.AudioSeconds:F1} s audio, one thread"));
                Console.WriteLine(string.Create(c, $"front end + 1 head: RTF {r.OneHeadRtf:F4} ({r.MillisecondsPerChunk:F2} ms per 80 ms chunk)"));
                if (r.Heads > 1) Console.WriteLine(string.Create(c, $"each extra head: +{r.ExtraHeadRtf:F5} RTF ({r.ExtraHeadRtf * 80:F3} ms per chunk; {r.Heads} heads: RTF {r.AllHeadsSeconds / r.AudioSeconds:F4})"));
            }
            finally
            {
                foreach (var h in loaded) h.Dispose();
            }
            return 0;
        });
        return command;
    }
}
