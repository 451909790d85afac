namespace OnnxTransfer.WakeWords.Synthesis;

/// <summary>
/// CMU flite, one process per request. Voices are those <c>flite -lv</c> lists, except <c>awb_time</c> (a
/// talking clock that can only say times) and <c>kal</c>: it is the same speaker as <c>kal16</c> at 8 kHz, and
/// two names for one person would let a train/test split by <see cref="SynthesisVoice.Speaker"/> leak him
/// (telephone-band audio is better made by augmentation). Rate: <c>--setf duration_stretch=1/Rate</c>, all
/// voices. Pitch: <c>--setf int_f0_target_mean=Pitch×default</c>, where default is the voice's own mean
/// (kal16 95 Hz, awb 132 Hz, slt 172 Hz: flite's output with these set is byte-identical to its default);
/// rms ignores the feature, so it has rate only, as does any voice not in that table.
/// </summary>
internal sealed class FliteSynthesizer : ISpeechSynthesizer
{
    /// <summary>The <see cref="SynthesisVoice.Engine"/> name.</summary>
    public const string EngineName = "flite";

    /// <summary>Voices never offered (see the class remarks).</summary>
    public static IReadOnlyList<string> Excluded { get; } = ["awb_time", "kal"];

    /// <summary>Default f0 target mean (Hz) of the voices whose pitch can be moved.</summary>
    public static IReadOnlyDictionary<string, double> DefaultF0 { get; } = new Dictionary<string, double>
    {
        ["kal16"] = 95, ["awb"] = 132, ["slt"] = 172,
    };

    private static readonly string[] BuiltInVoices = ["kal16", "awb", "rms", "slt"];

    private readonly ExternalProgram _program;
    private readonly Lazy<IReadOnlyList<string>> _voices;

    /// <summary>Uses <paramref name="executable"/> (a name on PATH or a path).</summary>
    public FliteSynthesizer(string executable = "flite")
    {
        _program = new ExternalProgram(EngineName, executable, "apt-get install flite");
        _voices = new Lazy<IReadOnlyList<string>>(DiscoverVoices);
    }

    /// <inheritdoc />
    public string Engine => EngineName;

    /// <summary>The flite program run.</summary>
    public string Executable => _program.Executable;

    /// <summary>Time allowed per process (one utterance) before it is killed.</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(60);

    /// <inheritdoc />
    public IReadOnlyList<string> VoiceNames => _voices.Value;

    /// <inheritdoc />
    public SynthesisControls Controls(string voiceName) =>
        DefaultF0.ContainsKey(voiceName) ? SynthesisControls.RateAndPitch : SynthesisControls.Rate;

    /// <inheritdoc />
    public void EnsureAvailable()
    {
        // flite --version exits 1; -lv exits 0 and proves the voices are linked in.
        var (code, output, error) = _program.Run(["-lv"], Timeout, CancellationToken.None);
        if (code != 0 || ParseVoices(output).Count == 0)
            throw _program.NotInstalled($"{Executable} -lv failed: {ExternalProgram.OneLine(error + " " + output)}");
    }

    /// <inheritdoc />
    public IReadOnlyList<float[]> Synthesize(IReadOnlyList<SynthesisRequest> requests, CancellationToken ct = default)
    {
        var texts = requests.Select(r =>
        {
            _program.CheckEngine(r.Voice);
            _program.CheckVoice(r.Voice, Controls(r.Voice.Name));
            if (!VoiceNames.Contains(r.Voice.Name))
                throw new OnnxTransferException($"{EngineName}: unknown voice \"{r.Voice.Name}\"; pick one of {string.Join(", ", VoiceNames)}.");
            // flite reads bytes as Latin text: non-ASCII would be dropped or misread.
            return _program.CheckText(r.Text, asciiOnly: true);
        }).ToArray();
        var results = new float[requests.Count][];
        using var temp = ExternalProgram.NewTempFolder();
        for (var i = 0; i < requests.Count; i++)
        {
            ct.ThrowIfCancellationRequested();
            var voice = requests[i].Voice;
            var file = temp.File($"{i}.wav");
            List<string> args = ["-voice", voice.Name, "--setf", "duration_stretch=" + ExternalProgram.Number(1 / voice.Rate)];
            if (voice.Pitch != 1) args.AddRange(["--setf", "int_f0_target_mean=" + ExternalProgram.Number(DefaultF0[voice.Name] * voice.Pitch)]);
            args.AddRange(["-t", texts[i], "-o", file]);
            var (code, _, error) = _program.Run(args, Timeout, ct);
            if (code != 0)
                throw new OnnxTransferException($"{EngineName}: voice {voice.Name} failed ({ExternalProgram.OneLine(error)}); check `flite -voice {voice.Name} -t test -o /tmp/t.wav` works.");
            results[i] = _program.ReadOutput(file, requests[i], error);
        }
        return results;
    }

    private IReadOnlyList<string> DiscoverVoices()
    {
        try
        {
            var (code, output, _) = _program.Run(["-lv"], Timeout, CancellationToken.None);
            var voices = code == 0 ? ParseVoices(output) : [];
            if (voices.Count > 0) return voices;
        }
        catch (OnnxTransferException) { } // not installed or hanging: the built-in list still names the voices
        return BuiltInVoices;
    }

    /// <summary>The voices of a <c>flite -lv</c> listing ("Voices available: kal awb_time ..."), less <see cref="Excluded"/>.</summary>
    internal static IReadOnlyList<string> ParseVoices(string listing)
    {
        var colon = listing.IndexOf("Voices available:", StringComparison.Ordinal);
        if (colon < 0) return [];
        var rest = listing[(colon + "Voices available:".Length)..].Split('\n')[0];
        return rest.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries)
            .Where(v => !Excluded.Contains(v)).Distinct(StringComparer.Ordinal).ToArray();
    }
}
