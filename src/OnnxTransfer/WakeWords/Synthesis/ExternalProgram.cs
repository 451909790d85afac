using System.ComponentModel;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using OnnxTransfer.Audio;

namespace OnnxTransfer.WakeWords.Synthesis;

/// <summary>
/// Runs a synthesizer program (argument list, never a shell) with a timeout and cancellation that kill it,
/// and the checks every engine shares: text, voice, rate/pitch, reading its WAV output.
/// </summary>
internal sealed class ExternalProgram(string engine, string executable, string installHint)
{
    /// <summary>Longest accepted text: the wake-word data is phrases and sentences, and festival's reader has a token limit.</summary>
    public const int MaxTextLength = 1000;

    /// <summary>Rate and pitch multipliers beyond these are refused: engines clamp or misbehave far outside them.</summary>
    public const double MinMultiplier = 0.25, MaxMultiplier = 4;

    public string Engine { get; } = engine;
    public string Executable { get; } = executable;

    /// <summary>The one-line "not installed" error.</summary>
    public OnnxTransferException NotInstalled(string detail) =>
        new($"{Engine}: not installed ({detail}); run tools/bootstrap or `{installHint}`.");

    /// <summary>Runs the program; returns its exit code and output. Throws on a missing program, timeout or cancellation.</summary>
    public (int Code, string Output, string Error) Run(IEnumerable<string> arguments, TimeSpan timeout, CancellationToken ct)
    {
        var info = new ProcessStartInfo(Executable)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
            StandardOutputEncoding = Encoding.UTF8,
            StandardErrorEncoding = Encoding.UTF8,
        };
        foreach (var a in arguments) info.ArgumentList.Add(a);
        Process process;
        try
        {
            process = Process.Start(info) ?? throw NotInstalled($"{Executable} did not start");
        }
        catch (Win32Exception e)
        {
            throw NotInstalled($"{Executable} not found: {e.NativeErrorCode switch { 2 => "no such file", 13 => "permission denied", _ => e.Message.Trim() }}");
        }
        using (process)
        {
            // No input: a program that would read stdin (festival's interactive mode) sees end-of-file, not a hang.
            process.StandardInput.Close();
            var stdout = PipeReader.Start(process.StandardOutput);
            var stderr = PipeReader.Start(process.StandardError);
            bool exited;
            // Cancellation kills the program, which ends the wait below at once.
            using (ct.Register(() => Kill(process)))
                exited = process.WaitForExit(timeout);
            if (!exited || ct.IsCancellationRequested)
            {
                Kill(process);
                process.WaitForExit(5000);
                ct.ThrowIfCancellationRequested();
                throw new OnnxTransferException(string.Create(CultureInfo.InvariantCulture,
                    $"{Engine}: {Executable} did not finish within {timeout.TotalSeconds:0} s and was stopped; check that `{Executable} --help` runs, or raise Timeout."));
            }
            // Output pipes close at exit unless a grandchild inherited them; do not wait on such a one for ever.
            var wait = TimeSpan.FromSeconds(5);
            var output = stdout.Finish(wait);
            var error = stderr.Finish(wait);
            return output is null || error is null ? (process.ExitCode, output ?? "", "") : (process.ExitCode, output, error);
        }
    }

    // The whole tree: a wrapper script's child would otherwise keep the pipes (and the CPU) busy.
    private static void Kill(Process process)
    {
        try { process.Kill(entireProcessTree: true); } catch (InvalidOperationException) { }
    }

    /// <summary>Reads one of a program's pipes to its end on a thread of its own (a full pipe would stall the program).</summary>
    private sealed class PipeReader
    {
        private readonly Thread _thread;
        private string? _text;

        private PipeReader(StreamReader reader)
        {
            _thread = new Thread(() => _text = reader.ReadToEnd()) { IsBackground = true, Name = "program output" };
        }

        public static PipeReader Start(StreamReader reader)
        {
            var pipe = new PipeReader(reader);
            pipe._thread.Start();
            return pipe;
        }

        /// <summary>The pipe's text, or null when it is still open after <paramref name="wait"/>.</summary>
        public string? Finish(TimeSpan wait) => _thread.Join(wait) ? _text : null;
    }

    /// <summary>Cleans <paramref name="text"/> for the engine: control characters become spaces; empty, over-long
    /// (and with <paramref name="asciiOnly"/>, non-ASCII after folding accents) text is refused.</summary>
    public string CheckText(string? text, bool asciiOnly)
    {
        if (string.IsNullOrWhiteSpace(text)) throw new OnnxTransferException($"{Engine}: the text is empty; pass a phrase to speak.");
        var clean = new StringBuilder(text.Length);
        foreach (var c in text.Normalize(asciiOnly ? NormalizationForm.FormKD : NormalizationForm.FormC))
        {
            if (char.IsControl(c) || char.IsWhiteSpace(c)) { clean.Append(' '); continue; }
            if (!asciiOnly || c < 128) { clean.Append(c); continue; }
            if (CharUnicodeInfo.GetUnicodeCategory(c) == UnicodeCategory.NonSpacingMark) continue; // é -> e
            var ascii = c switch
            {
                '\u2018' or '\u2019' or '\u201A' or '\u2032' => '\'',
                '\u201C' or '\u201D' or '\u201E' or '\u2033' => '"',
                '\u2010' or '\u2011' or '\u2012' or '\u2013' or '\u2014' or '\u2212' => '-',
                '\u2026' => '.',
                _ => '\0',
            };
            if (ascii == '\0')
                throw new OnnxTransferException($"{Engine}: the text \"{Shorten(text)}\" has a character it cannot read ('{c}', U+{(int)c:X4}); spell it in ASCII letters.");
            clean.Append(ascii);
        }
        var result = clean.ToString().Trim();
        // Punctuation alone has nothing to say (and crashes festival's diphone voices).
        if (!result.Any(char.IsLetterOrDigit))
            throw new OnnxTransferException($"{Engine}: the text \"{Shorten(text)}\" has no letters or digits to speak; pass words.");
        if (result.Length > MaxTextLength)
            throw new OnnxTransferException($"{Engine}: the text \"{Shorten(text)}\" has {result.Length} characters, over {MaxTextLength}; split it into shorter requests.");
        return result;
    }

    /// <summary>Refuses a voice of another engine.</summary>
    public void CheckEngine(SynthesisVoice voice)
    {
        if (voice.Engine != Engine)
            throw new OnnxTransferException($"{Engine}: voice {voice.Speaker} belongs to {voice.Engine}; pass it to that synthesizer (SynthesizerCatalog.For).");
    }

    /// <summary>Refuses a voice of another engine, and rate/pitch outside range or not supported by the voice.</summary>
    public void CheckVoice(SynthesisVoice voice, SynthesisControls controls)
    {
        CheckEngine(voice);
        foreach (var (what, value, flag) in new[] { ("rate", voice.Rate, SynthesisControls.Rate), ("pitch", voice.Pitch, SynthesisControls.Pitch) })
        {
            if (!(value >= MinMultiplier && value <= MaxMultiplier))
                throw new OnnxTransferException(string.Create(CultureInfo.InvariantCulture,
                    $"{Engine}: {what} {value} for voice {voice.Name} is outside [{MinMultiplier}, {MaxMultiplier}]; pass a multiplier such as 0.8 or 1.2."));
            if (value != 1 && (controls & flag) == 0)
                throw new OnnxTransferException(string.Create(CultureInfo.InvariantCulture,
                    $"{Engine}: voice {voice.Name} cannot change its {what} ({what} {value} asked); use {what} 1 for it (see Controls) and vary it afterwards."));
        }
    }

    /// <summary>Reads a WAV the program wrote as 16 kHz mono clamped to [-1,1]; no file or no samples is an error naming the request.</summary>
    public float[] ReadOutput(string path, SynthesisRequest request, string error)
    {
        if (!File.Exists(path) || new FileInfo(path).Length <= 44)
            throw new OnnxTransferException($"{Engine}: voice {request.Voice.Name} produced no audio for \"{Shorten(request.Text)}\" ({OneLine(error)}); pass words it can speak.");
        var clip = WavReader.Read(path).ResampleTo(SpeechFrontEnd.SampleRate);
        var samples = clip.Samples;
        if (samples.Length == 0)
            throw new OnnxTransferException($"{Engine}: voice {request.Voice.Name} produced no audio for \"{Shorten(request.Text)}\"; pass words it can speak.");
        for (var i = 0; i < samples.Length; i++) samples[i] = Math.Clamp(samples[i], -1f, 1f); // resampling can overshoot full scale
        return samples;
    }

    /// <summary>A per-call temp folder (removed by disposing), so concurrent calls never share files.</summary>
    public static TempFolder NewTempFolder() => new(Directory.CreateTempSubdirectory("onnxtransfer-tts-").FullName);

    /// <summary>Program output squeezed onto one short line for an error message.</summary>
    public static string OneLine(string text)
    {
        var line = string.Join(' ', text.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries));
        return line.Length == 0 ? "no message" : line.Length > 200 ? line[..200] + "..." : line;
    }

    /// <summary>Text quoted in an error message, shortened.</summary>
    public static string Shorten(string text) => text.Length > 60 ? text[..60] + "..." : text;

    /// <summary>A number for a command line or script, culture-independent.</summary>
    public static string Number(double value) => value.ToString("0.######", CultureInfo.InvariantCulture);

    internal sealed class TempFolder(string path) : IDisposable
    {
        public string Path { get; } = path;
        public string File(string name) => System.IO.Path.Combine(Path, name);
        public void Dispose()
        {
            try { Directory.Delete(Path, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        }
    }
}
