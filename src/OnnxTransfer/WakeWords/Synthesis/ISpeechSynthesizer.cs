namespace OnnxTransfer.WakeWords.Synthesis;

/// <summary>
/// A text-to-speech engine run as an external program. Output is 16 kHz mono in [-1,1]. Implementations are
/// safe to use from several threads: every call starts its own process(es) and temp folder.
/// </summary>
internal interface ISpeechSynthesizer
{
    /// <summary>The engine's name, as in <see cref="SynthesisVoice.Engine"/>.</summary>
    string Engine { get; }

    /// <summary>The English voices this engine offers (discovered from the installed program, else a built-in list).</summary>
    IReadOnlyList<string> VoiceNames { get; }

    /// <summary>Which of rate and pitch <paramref name="voiceName"/> honours; a request changing another one is refused.</summary>
    SynthesisControls Controls(string voiceName);

    /// <summary>Throws <see cref="OnnxTransferException"/> (saying how to install it) unless the program runs.</summary>
    void EnsureAvailable();

    /// <summary>
    /// Speaks every request: one 16 kHz mono array in [-1,1] per request, in order. Throws
    /// <see cref="OnnxTransferException"/> for empty or unreadable text, an unknown voice, a failing or hanging
    /// program; <see cref="OperationCanceledException"/> (after killing the program) when <paramref name="ct"/> fires.
    /// </summary>
    IReadOnlyList<float[]> Synthesize(IReadOnlyList<SynthesisRequest> requests, CancellationToken ct = default);
}

/// <summary>Conveniences over <see cref="ISpeechSynthesizer"/>.</summary>
internal static class SpeechSynthesizerExtensions
{
    /// <summary>Speaks one <paramref name="text"/> with <paramref name="voice"/>: 16 kHz mono samples in [-1,1].</summary>
    public static float[] Synthesize(this ISpeechSynthesizer synthesizer, string text, SynthesisVoice voice, CancellationToken ct = default) =>
        synthesizer.Synthesize([new SynthesisRequest(text, voice)], ct)[0];

    /// <summary>Every voice of <paramref name="synthesizer"/> at rate and pitch 1.</summary>
    public static IEnumerable<SynthesisVoice> Voices(this ISpeechSynthesizer synthesizer) =>
        synthesizer.VoiceNames.Select(name => new SynthesisVoice(synthesizer.Engine, name));
}
