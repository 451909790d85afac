namespace OnnxTransfer.WakeWords.Synthesis;

/// <summary>The speech synthesizers OnnxTransfer can drive, and their voices.</summary>
internal static class SynthesizerCatalog
{
    /// <summary>espeak-ng, flite and festival at their default paths (installed or not).</summary>
    public static IReadOnlyList<ISpeechSynthesizer> All { get; } =
        [new EspeakSynthesizer(), new FliteSynthesizer(), new FestivalSynthesizer()];

    /// <summary>Those of <see cref="All"/> whose <see cref="ISpeechSynthesizer.EnsureAvailable"/> passes.</summary>
    public static IReadOnlyList<ISpeechSynthesizer> Installed() => All.Where(IsAvailable).ToArray();

    /// <summary>The synthesizer of <paramref name="engine"/> in <see cref="All"/>.</summary>
    public static ISpeechSynthesizer For(string engine) =>
        All.FirstOrDefault(s => s.Engine == engine)
        ?? throw new OnnxTransferException($"speech synthesis: unknown engine \"{engine}\"; use one of {string.Join(", ", All.Select(s => s.Engine))}.");

    /// <summary>Every voice of <paramref name="synthesizers"/>, at rate and pitch 1.</summary>
    public static IReadOnlyList<SynthesisVoice> Voices(IEnumerable<ISpeechSynthesizer> synthesizers) =>
        synthesizers.SelectMany(s => s.Voices()).ToArray();

    private static bool IsAvailable(ISpeechSynthesizer synthesizer)
    {
        try
        {
            synthesizer.EnsureAvailable();
            return true;
        }
        catch (OnnxTransferException)
        {
            return false;
        }
    }
}
