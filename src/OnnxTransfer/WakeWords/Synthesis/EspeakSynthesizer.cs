namespace OnnxTransfer.WakeWords.Synthesis;

/// <summary>
/// espeak-ng (formant synthesis), one process per request. Voices are every English espeak-ng voice except
/// the mbrola ones (they need separately installed databases) crossed with every variant: "en-us" (the
/// voice's own default) and "en-us+f2". Rate 1 = 175 words per minute (<c>-s</c>, clamped by espeak-ng to
/// 80-450), pitch 1 = 50 (<c>-p</c>, clamped to 0-99), so pitch above ~2 has no further effect. Every voice
/// honours both. Names outside <see cref="VoiceNames"/> (e.g. "en", "en-us+whisper") are passed to espeak-ng as
/// they are, which refuses the ones it does not know.
/// </summary>
internal sealed class EspeakSynthesizer : ISpeechSynthesizer
{
    /// <summary>The <see cref="SynthesisVoice.Engine"/> name.</summary>
    public const string EngineName = "espeak-ng";

    /// <summary>Words per minute at rate 1 (espeak-ng's default).</summary>
    public const int DefaultWordsPerMinute = 175;

    /// <summary>espeak-ng base pitch at pitch 1 (its default).</summary>
    public const int DefaultPitch = 50;

    /// <summary>
    /// English voices (accents) used when discovery fails, and by the data generator, whose seeded draws must not
    /// depend on the installed espeak-ng.
    /// </summary>
    public static IReadOnlyList<string> EnglishVoices { get; } =
        ["en", "en-us", "en-gb-scotland", "en-gb-x-rp", "en-gb-x-gbclan", "en-gb-x-gbcwmd", "en-029"];

    /// <summary>Variants (timbres) used with <see cref="EnglishVoices"/>; "" is the voice's own default.</summary>
    public static IReadOnlyList<string> Variants { get; } =
        ["", "m1", "m2", "m3", "m4", "m5", "m6", "m7", "f1", "f2", "f3", "f4", "f5",
         "klatt", "klatt2", "klatt3", "klatt4", "croak", "Annie", "belinda", "Andy", "boris", "iven", "linda", "steph", "quincy"];

    private readonly ExternalProgram _program;
    private readonly Lazy<IReadOnlyList<string>> _voices;

    /// <summary>Uses <paramref name="executable"/> (a name on PATH or a path).</summary>
    public EspeakSynthesizer(string executable = "espeak-ng")
    {
        _program = new ExternalProgram(EngineName, executable, "apt-get install espeak-ng");
        _voices = new Lazy<IReadOnlyList<string>>(DiscoverVoices);
    }

    /// <inheritdoc />
    public string Engine => EngineName;

    /// <summary>The espeak-ng program run.</summary>
    public string Executable => _program.Executable;

    /// <summary>Time allowed per process (one utterance) before it is killed.</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(60);

    /// <inheritdoc />
    public IReadOnlyList<string> VoiceNames => _voices.Value;

    /// <inheritdoc />
    public SynthesisControls Controls(string voiceName) => SynthesisControls.RateAndPitch;

    /// <inheritdoc />
    public void EnsureAvailable()
    {
        var (code, _, error) = _program.Run(["--version"], Timeout, CancellationToken.None);
        if (code != 0) throw _program.NotInstalled($"{Executable} --version failed: {ExternalProgram.OneLine(error)}");
    }

    /// <inheritdoc />
    public IReadOnlyList<float[]> Synthesize(IReadOnlyList<SynthesisRequest> requests, CancellationToken ct = default)
    {
        var texts = requests.Select(r =>
        {
            _program.CheckVoice(r.Voice, SynthesisControls.RateAndPitch);
            // The name is one argument after -v; a leading '-' would read as an option.
            if (r.Voice.Name.Length == 0 || r.Voice.Name.StartsWith('-') || r.Voice.Name.Any(char.IsWhiteSpace))
                throw new OnnxTransferException($"{EngineName}: voice name \"{r.Voice.Name}\" is not a voice; pick one of VoiceNames, e.g. en-us+f2.");
            return _program.CheckText(r.Text, asciiOnly: false);
        }).ToArray();
        var results = new float[requests.Count][];
        using var temp = ExternalProgram.NewTempFolder();
        for (var i = 0; i < requests.Count; i++)
        {
            ct.ThrowIfCancellationRequested();
            var voice = requests[i].Voice;
            var file = temp.File($"{i}.wav");
            var wpm = (int)Math.Round(DefaultWordsPerMinute * voice.Rate);
            var pitch = Math.Clamp((int)Math.Round(DefaultPitch * voice.Pitch), 0, 99);
            // -w writes a finished WAV header (--stdout leaves a streaming placeholder size); "--" ends the options,
            // so a text starting with '-' is spoken, not parsed.
            var (code, _, error) = _program.Run(["-v", voice.Name, "-s", wpm.ToString(), "-p", pitch.ToString(), "-w", file, "--", texts[i]], Timeout, ct);
            if (code != 0 || !File.Exists(file))
                throw new OnnxTransferException($"{EngineName}: voice {voice.Name} failed ({ExternalProgram.OneLine(error)}); check it is listed by `espeak-ng --voices=en` (variants: --voices=variant).");
            results[i] = _program.ReadOutput(file, requests[i], error);
        }
        return results;
    }

    /// <summary>
    /// How <paramref name="text"/> sounds, as espeak-ng's phoneme string for American English with stress and
    /// length marks removed: two spellings that give the same string sound the same (e.g. "sheela" and "sheila").
    /// </summary>
    public string Phonemes(string text)
    {
        var checkedText = _program.CheckText(text, asciiOnly: false);
        var (code, output, error) = _program.Run(["-q", "-x", "-v", "en-us", "--", checkedText], Timeout, CancellationToken.None);
        if (code != 0) throw new OnnxTransferException($"{EngineName}: could not transcribe \"{ExternalProgram.Shorten(text)}\" ({ExternalProgram.OneLine(error)}).");
        return new string(output.Where(c => !char.IsWhiteSpace(c) && c is not ('\'' or ',' or ':' or '_' or '-' or '=')).ToArray());
    }

    /// <summary>
    /// espeak-ng's raw American-English phoneme strings (stress marks kept) of many words or phrases in one process:
    /// one string per text, in order. Texts are reduced to letters, apostrophes and spaces.
    /// </summary>
    public IReadOnlyList<string> RawPhonemes(IReadOnlyList<string> texts)
    {
        if (texts.Count == 0) return [];
        var clean = texts.Select(t => new string(t.Select(c => char.IsLetter(c) || c == '\'' ? c : ' ').ToArray()).Trim()).ToArray();
        using var temp = ExternalProgram.NewTempFolder();
        var file = temp.File("words.txt");
        // One clause per line ("word."), so espeak-ng prints one line of phonemes per text.
        File.WriteAllLines(file, clean.Select(t => (t.Length == 0 ? "a" : t) + "."));
        var (code, output, error) = _program.Run(["-q", "-x", "-v", "en-us", "-f", file], Timeout + TimeSpan.FromMilliseconds(5 * texts.Count), CancellationToken.None);
        var lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.Trim()).ToArray();
        if (code != 0 || lines.Length != texts.Count)
            throw new OnnxTransferException($"{EngineName}: could not transcribe {texts.Count} words ({ExternalProgram.OneLine(error)}); check `espeak-ng -q -x -f FILE` works.");
        return lines;
    }

    private IReadOnlyList<string> DiscoverVoices()
    {
        try
        {
            var (c1, voicesText, _) = _program.Run(["--voices=en"], Timeout, CancellationToken.None);
            var (c2, variantsText, _) = _program.Run(["--voices=variant"], Timeout, CancellationToken.None);
            var voices = c1 == 0 ? ParseVoices(voicesText) : [];
            var variants = c2 == 0 ? ParseVariants(variantsText) : [];
            if (voices.Count > 0 && variants.Count > 0) return Combine(voices, variants);
        }
        catch (OnnxTransferException) { } // not installed or hanging: the built-in list still names the voices
        return Combine(EnglishVoices, Variants.Where(v => v.Length > 0).ToArray());
    }

    private static IReadOnlyList<string> Combine(IReadOnlyList<string> voices, IReadOnlyList<string> variants) =>
        voices.SelectMany(v => variants.Select(x => v + "+" + x).Prepend(v)).ToArray();

    /// <summary>
    /// Voice (language column) of each row of <c>espeak-ng --voices=en</c> whose file is an espeak voice: mbrola
    /// ("mb/...") needs databases that are usually missing, and "!v/..." rows are variants listed under a language.
    /// </summary>
    internal static IReadOnlyList<string> ParseVoices(string listing) =>
        Rows(listing).Where(r => r.File is { } f && !f.StartsWith("mb/", StringComparison.Ordinal) && !f.StartsWith("!v/", StringComparison.Ordinal)
                                 && r.Language.StartsWith("en", StringComparison.Ordinal))
            .Select(r => r.Language).Distinct(StringComparer.Ordinal).ToArray();

    /// <summary>Variant names (the file after "!v/") of <c>espeak-ng --voices=variant</c>.</summary>
    internal static IReadOnlyList<string> ParseVariants(string listing) =>
        Rows(listing).Where(r => r.File is { } f && f.StartsWith("!v/", StringComparison.Ordinal) && f.Length > 3)
            .Select(r => r.File![3..]).Distinct(StringComparer.Ordinal).ToArray();

    // Columns: Pty Language Age/Gender VoiceName File [Other Languages]; VoiceName has no spaces (espeak prints '_').
    private static IEnumerable<(string Language, string? File)> Rows(string listing) =>
        listing.Split('\n').Skip(1)
            .Select(line => line.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            .Where(f => f.Length >= 5 && int.TryParse(f[0], out _))
            .Select(f => (f[1], (string?)f[4]));
}
