using System.CommandLine;
using System.Globalization;
using OnnxTransfer.Audio;

namespace OnnxTransfer.Cli.Commands;

/// <summary>`onnxtransfer wakeword concat`: join WAV files into one 16 kHz test recording and print where each part starts.</summary>
internal static class WakeWordConcatCommand
{
    /// <summary>Builds the command.</summary>
    public static Command Create()
    {
        var files = new Argument<string[]>("files") { Description = "WAV files, in order.", Arity = ArgumentArity.OneOrMore };
        var output = new Option<string>("--out", "-o") { Description = "The WAV file to write (mono 16-bit, 16 kHz).", Required = true };
        var command = new Command("concat", "Join WAV files back to back into one 16 kHz recording (e.g. a wake word between other sounds) and print each part's start time.")
        {
            files, output,
        };
        command.SetAction(pr =>
        {
            var paths = pr.GetValue(files)!;
            var (clip, starts) = AudioClip.Concatenate(paths.Select(WavReader.Read).ToArray(), SpeechFrontEnd.SampleRate);
            var outPath = pr.GetValue(output)!;
            WavWriter.Write(outPath, clip);
            var console = pr.InvocationConfiguration.Output;
            for (var i = 0; i < paths.Length; i++)
                console.WriteLine($"{starts[i].ToString("F2", CultureInfo.InvariantCulture),8} s\t{paths[i]}");
            console.WriteLine($"wrote {outPath} ({clip.Duration.ToString("F2", CultureInfo.InvariantCulture)} s)");
            return 0;
        });
        return command;
    }
}
