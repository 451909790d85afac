using System.ComponentModel;
using System.Diagnostics;
using OnnxTransfer.Audio;

namespace OnnxTransfer.WakeWords;

/// <summary>One espeak-ng speaker setting: voice (accent), variant (timbre), speed and pitch.</summary>
/// <param name="Voice">espeak-ng voice name, e.g. "en-us".</param>
/// <param name="Variant">Voice variant ("m3", "f2", "klatt"...), or "" for the voice's default.</param>
/// <param name="WordsPerMinute">Speaking rate (espeak-ng -s; 80-450).</param>
/// <param name="Pitch">Base pitch (espeak-ng -p; 0-99).</param>
public sealed record SynthesisVoice(string Voice, string Variant, int WordsPerMinute, int Pitch)
{
    /// <summary>The -v argument: voice[+variant].</summary>
    public string EspeakVoice => Variant.Length == 0 ? Voice : Voice + "+" + Variant;

    /// <inheritdoc />
    public override string ToString() => $"{EspeakVoice} s{WordsPerMinute} p{Pitch}";
}

/// <summary>
/// Text to speech with the espeak-ng program (run as a process; nothing is linked). Output is resampled to
/// 16 kHz mono in [-1,1]. Each call is independent, so instances may be used from several threads.
/// </summary>
public sealed class SpeechSynthesizer
{
    /// <summary>English voices (accents) shipped with espeak-ng.</summary>
    public static IReadOnlyList<string> EnglishVoices { get; } =
        ["en", "en-us", "en-gb-scotland", "en-gb-x-rp", "en-gb-x-gbclan", "en-gb-x-gbcwmd", "en-029"];

    /// <summary>Variants (timbres) combined with every voice; "" is the voice's own default.</summary>
    public static IReadOnlyList<string> Variants { get; } =
        ["", "m1", "m2", "m3", "m4", "m5", "m6", "m7", "f1", "f2", "f3", "f4", "f5",
         "klatt", "klatt2", "klatt3", "klatt4", "croak", "Annie", "belinda", "Andy", "boris", "iven", "linda", "steph", "quincy"];

    private const string MissingHint = "install it (`apt-get install espeak-ng`) or pass its path";

    /// <summary>Uses <paramref name="executable"/> (a name on PATH or a path).</summary>
    public SpeechSynthesizer(string executable = "espeak-ng") => Executable = executable;

    /// <summary>The espeak-ng program run.</summary>
    public string Executable { get; }

    /// <summary>Throws <see cref="OnnxTransferException"/> unless espeak-ng runs.</summary>
    public void EnsureAvailable()
    {
        var (code, _, error) = RunProcess(["--version"]);
        if (code != 0) throw new OnnxTransferException($"{Executable} --version failed ({error.Trim()}); {MissingHint}.");
    }

    /// <summary>Speaks <paramref name="text"/> with <paramref name="voice"/>: 16 kHz mono samples in [-1,1].</summary>
    public float[] Synthesize(string text, SynthesisVoice voice)
    {
        if (string.IsNullOrWhiteSpace(text)) throw new OnnxTransferException("speech synthesis: the text is empty; pass a phrase.");
        var file = Path.Combine(Path.GetTempPath(), $"onnxtransfer-tts-{Guid.NewGuid():N}.wav");
        try
        {
            // -w writes a finished WAV header (--stdout leaves a streaming placeholder size).
            var (code, _, error) = RunProcess(["-v", voice.EspeakVoice, "-s", voice.WordsPerMinute.ToString(),
                "-p", voice.Pitch.ToString(), "-w", file, "--", text]);
            if (code != 0 || !File.Exists(file))
                throw new OnnxTransferException($"{Executable} failed for voice '{voice.EspeakVoice}' ({error.Trim()}); check the voice exists (`espeak-ng --voices=en`).");
            var clip = WavReader.Read(file);
            return clip.ResampleTo(SpeechFrontEnd.SampleRate).Samples;
        }
        finally
        {
            File.Delete(file);
        }
    }

    private (int Code, string Output, string Error) RunProcess(IEnumerable<string> arguments)
    {
        var info = new ProcessStartInfo(Executable)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var a in arguments) info.ArgumentList.Add(a);
        try
        {
            using var process = Process.Start(info) ?? throw new OnnxTransferException($"{Executable}: could not start; {MissingHint}.");
            var stderr = process.StandardError.ReadToEndAsync();
            var stdout = process.StandardOutput.ReadToEnd();
            process.WaitForExit();
            return (process.ExitCode, stdout, stderr.GetAwaiter().GetResult());
        }
        catch (Win32Exception)
        {
            throw new OnnxTransferException($"{Executable}: program not found; {MissingHint}.");
        }
    }
}
