using System.Globalization;

namespace OnnxTransfer.WakeWords.Synthesis;

/// <summary>
/// One voice of one synthesizer, with speaking rate and pitch as multipliers on that voice's defaults. Each
/// engine maps them to its own controls (see <see cref="EspeakSynthesizer"/>, <see cref="FliteSynthesizer"/>,
/// <see cref="FestivalSynthesizer"/>); <see cref="ISpeechSynthesizer.Controls"/> says which a voice honours.
/// </summary>
/// <param name="Engine">The synthesizer: "espeak-ng", "flite" or "festival" (<see cref="ISpeechSynthesizer.Engine"/>).</param>
/// <param name="Name">The engine's voice name, e.g. "en-us+f2" (espeak-ng voice+variant), "slt", "kal_diphone".</param>
/// <param name="Rate">Speaking-rate multiplier: 2 speaks twice as fast as the voice's default.</param>
/// <param name="Pitch">Pitch multiplier on the voice's default base pitch.</param>
internal sealed record SynthesisVoice(string Engine, string Name, double Rate = 1, double Pitch = 1)
{
    /// <summary>
    /// Who speaks: the recorded person behind the voice when two engines ship the same one (flite slt and
    /// festival cmu_us_slt_arctic_hts are "person:slt"; flite kal16 and festival kal_diphone are "person:kal"),
    /// else "engine:name". Rate and pitch do not make a new speaker, so this is what train/test splits hold out.
    /// </summary>
    public string Speaker => RecordedPeople.TryGetValue($"{Engine}:{Name}", out var person) ? person : $"{Engine}:{Name}";

    /// <summary>Voices of different engines built from recordings of the same person.</summary>
    private static readonly Dictionary<string, string> RecordedPeople = new(StringComparer.Ordinal)
    {
        ["flite:slt"] = "person:slt", ["festival:cmu_us_slt_arctic_hts"] = "person:slt",
        ["flite:kal16"] = "person:kal", ["flite:kal"] = "person:kal", ["festival:kal_diphone"] = "person:kal",
    };

    /// <inheritdoc />
    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{Engine}:{Name} rate={Rate:0.###} pitch={Pitch:0.###}");
}

/// <summary>One utterance to synthesize: <paramref name="Text"/> spoken by <paramref name="Voice"/>.</summary>
internal sealed record SynthesisRequest(string Text, SynthesisVoice Voice);

/// <summary>What a voice lets <see cref="SynthesisVoice.Rate"/> and <see cref="SynthesisVoice.Pitch"/> change.</summary>
[Flags]
internal enum SynthesisControls
{
    /// <summary>Neither: rate and pitch must be 1.</summary>
    None = 0,
    /// <summary>The speaking rate follows <see cref="SynthesisVoice.Rate"/>.</summary>
    Rate = 1,
    /// <summary>The base pitch follows <see cref="SynthesisVoice.Pitch"/>.</summary>
    Pitch = 2,
    /// <summary>Both.</summary>
    RateAndPitch = Rate | Pitch,
}
