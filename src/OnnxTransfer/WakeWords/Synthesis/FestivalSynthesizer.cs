using System.Text;
using System.Text.RegularExpressions;

namespace OnnxTransfer.WakeWords.Synthesis;

/// <summary>
/// Festival, one process per <see cref="Synthesize"/> call: festival takes ~0.5 s to start, so a generated
/// Scheme script selects each voice once and saves every utterance of the batch. Voices are the folders of
/// festival's English voice directories (<c>VOICES/{english,us,british}/NAME/festvox</c>), e.g. kal_diphone,
/// ked_diphone, cmu_us_slt_arctic_hts. Text reaches Scheme only as an escaped string literal, and voice names
/// only after matching a discovered folder name, so no phrase can run Scheme code.
/// Controls by kind (from the name): diphone voices — rate via <c>Duration_Stretch</c> = voice default / Rate,
/// pitch via the <c>int_lr_params</c> target f0 mean and deviation × Pitch; HTS voices — rate via the HTS
/// engine's <c>-r</c> speed, no pitch (festival's HTS module ignores <c>-fm</c>); CG voices — rate only; other
/// kinds (clunits) neither. 32 kHz (HTS) output is resampled to 16 kHz.
/// </summary>
internal sealed class FestivalSynthesizer : ISpeechSynthesizer
{
    /// <summary>The <see cref="SynthesisVoice.Engine"/> name.</summary>
    public const string EngineName = "festival";

    /// <summary>Where Debian installs festival voices.</summary>
    public const string DefaultVoicesFolder = "/usr/share/festival/voices";

    /// <summary>Language folders under the voices folder that hold English voices.</summary>
    public static IReadOnlyList<string> EnglishFolders { get; } = ["english", "us", "british"];

    /// <summary>Seconds allowed per utterance on top of <see cref="Timeout"/>.</summary>
    public static readonly TimeSpan PerUtterance = TimeSpan.FromSeconds(3);

    private static readonly Regex VoiceName = new("^[A-Za-z0-9_]+$", RegexOptions.CultureInvariant);

    private readonly ExternalProgram _program;
    private readonly Lazy<IReadOnlyList<string>> _voices;

    /// <summary>Uses <paramref name="executable"/> (a name on PATH or a path) and the voices under <paramref name="voicesFolder"/>.</summary>
    public FestivalSynthesizer(string executable = "festival", string voicesFolder = DefaultVoicesFolder)
    {
        _program = new ExternalProgram(EngineName, executable, "apt-get install festival festvox-kallpc16k festvox-kdlpc16k festvox-us-slt-hts");
        VoicesFolder = voicesFolder;
        _voices = new Lazy<IReadOnlyList<string>>(() => DiscoverVoices(voicesFolder));
    }

    /// <inheritdoc />
    public string Engine => EngineName;

    /// <summary>The festival program run.</summary>
    public string Executable => _program.Executable;

    /// <summary>The folder scanned for voices.</summary>
    public string VoicesFolder { get; }

    /// <summary>Time allowed per batch (plus <see cref="PerUtterance"/> per request) before festival is killed.</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(60);

    /// <inheritdoc />
    public IReadOnlyList<string> VoiceNames => _voices.Value;

    /// <inheritdoc />
    public SynthesisControls Controls(string voiceName) => KindOf(voiceName) switch
    {
        VoiceKind.Diphone => SynthesisControls.RateAndPitch,
        VoiceKind.Hts or VoiceKind.Cg => SynthesisControls.Rate,
        _ => SynthesisControls.None,
    };

    /// <inheritdoc />
    public void EnsureAvailable()
    {
        var (code, _, error) = _program.Run(["--version"], Timeout, CancellationToken.None);
        if (code != 0) throw _program.NotInstalled($"{Executable} --version failed: {ExternalProgram.OneLine(error)}");
        if (VoiceNames.Count == 0) throw _program.NotInstalled($"no English voices under {VoicesFolder}");
    }

    /// <inheritdoc />
    public IReadOnlyList<float[]> Synthesize(IReadOnlyList<SynthesisRequest> requests, CancellationToken ct = default)
    {
        var texts = requests.Select(r =>
        {
            _program.CheckEngine(r.Voice);
            // Checked before the name goes into the script as (voice_NAME).
            if (!VoiceName.IsMatch(r.Voice.Name) || !VoiceNames.Contains(r.Voice.Name))
                throw new OnnxTransferException($"{EngineName}: unknown voice \"{r.Voice.Name}\"; pick one of {string.Join(", ", VoiceNames)} (folders under {VoicesFolder}).");
            _program.CheckVoice(r.Voice, Controls(r.Voice.Name));
            // festival's reader and lexicon work on bytes of ASCII text; UTF-8 would be spelled out as junk.
            return _program.CheckText(r.Text, asciiOnly: true);
        }).ToArray();
        if (requests.Count == 0) return [];
        ct.ThrowIfCancellationRequested();
        using var temp = ExternalProgram.NewTempFolder();
        var files = Enumerable.Range(0, requests.Count).Select(i => temp.File($"{i}.wav")).ToArray();
        var script = temp.File("batch.scm");
        File.WriteAllText(script, Script(requests, texts, files), new UTF8Encoding(false));
        var timeout = Timeout + PerUtterance * requests.Count;
        var (code, _, error) = _program.Run(["-b", script], timeout, ct);
        var results = new float[requests.Count][];
        for (var i = 0; i < requests.Count; i++)
        {
            if (!File.Exists(files[i]))
                throw new OnnxTransferException($"{EngineName}: voice {requests[i].Voice.Name} made no audio for \"{ExternalProgram.Shorten(requests[i].Text)}\" " +
                                                $"(request {i + 1} of {requests.Count}, exit code {code}: {ExternalProgram.OneLine(error)}); check `festival -b` with (voice_{requests[i].Voice.Name}) works.");
            results[i] = _program.ReadOutput(files[i], requests[i], error);
        }
        return results;
    }

    /// <summary>The batch script: each voice selected once per run of requests, its defaults captured, then one save per request.</summary>
    internal string Script(IReadOnlyList<SynthesisRequest> requests, IReadOnlyList<string> texts, IReadOnlyList<string> files)
    {
        var s = new StringBuilder();
        // Scales the target f0 mean and deviation of an int_lr_params list, leaving the model's statistics alone.
        s.AppendLine("(define (ot_lr_scale params k) (mapcar (lambda (p) (if (or (eq? (car p) 'target_f0_mean) (eq? (car p) 'target_f0_std)) (list (car p) (* k (car (cdr p)))) p)) params))");
        string? current = null;
        for (var i = 0; i < requests.Count; i++)
        {
            var voice = requests[i].Voice;
            var kind = KindOf(voice.Name);
            if (voice.Name != current)
            {
                // Voices set Duration_Stretch only if they want one (kal: 1.1), so reset it before selecting the next.
                s.AppendLine("(Parameter.set 'Duration_Stretch 1)");
                s.AppendLine($"(voice_{voice.Name})");
                s.AppendLine("(set! ot_stretch (Parameter.get 'Duration_Stretch))");
                if (kind == VoiceKind.Diphone) s.AppendLine("(set! ot_lr int_lr_params)");
                if (kind == VoiceKind.Hts) s.AppendLine("(set! ot_hts hts_engine_params)");
                current = voice.Name;
            }
            var rate = ExternalProgram.Number(voice.Rate);
            switch (kind)
            {
                case VoiceKind.Diphone:
                    s.AppendLine($"(Parameter.set 'Duration_Stretch (/ ot_stretch {rate}))");
                    s.AppendLine($"(set! int_lr_params (ot_lr_scale ot_lr {ExternalProgram.Number(voice.Pitch)}))");
                    break;
                case VoiceKind.Cg:
                    s.AppendLine($"(Parameter.set 'Duration_Stretch (/ ot_stretch {rate}))");
                    break;
                case VoiceKind.Hts:
                    s.AppendLine($"(set! hts_engine_params (append ot_hts (list (list \"-r\" {rate}))))");
                    break;
            }
            // Utterance does not evaluate its text argument, so the text must be a literal here, not a variable.
            // unwind-protect: a failing utterance leaves its file missing (reported per request) instead of ending the batch.
            s.AppendLine($"(unwind-protect (utt.save.wave (utt.synth (Utterance Text {Quote(texts[i])})) {Quote(files[i])} 'riff) (print \"ot-failed {i}\"))");
        }
        return s.ToString();
    }

    /// <summary>A Scheme string literal of <paramref name="text"/>: backslash and double quote escaped, nothing else can end it.</summary>
    internal static string Quote(string text)
    {
        var s = new StringBuilder(text.Length + 2).Append('"');
        foreach (var c in text)
        {
            if (c is '\\' or '"') s.Append('\\');
            s.Append(c is '\n' or '\r' or '\t' ? ' ' : c);
        }
        return s.Append('"').ToString();
    }

    private enum VoiceKind { Other, Diphone, Hts, Cg }

    private static VoiceKind KindOf(string name) =>
        name.EndsWith("_diphone", StringComparison.Ordinal) ? VoiceKind.Diphone
        : name.EndsWith("_hts", StringComparison.Ordinal) ? VoiceKind.Hts
        : name.EndsWith("_cg", StringComparison.Ordinal) ? VoiceKind.Cg
        : VoiceKind.Other;

    private static IReadOnlyList<string> DiscoverVoices(string root)
    {
        var voices = new List<string>();
        foreach (var language in EnglishFolders)
        {
            var folder = Path.Combine(root, language);
            if (!Directory.Exists(folder)) continue;
            foreach (var dir in Directory.GetDirectories(folder).Order(StringComparer.Ordinal))
            {
                var name = Path.GetFileName(dir);
                if (VoiceName.IsMatch(name) && Directory.Exists(Path.Combine(dir, "festvox")) && !voices.Contains(name)) voices.Add(name);
            }
        }
        return voices;
    }
}
