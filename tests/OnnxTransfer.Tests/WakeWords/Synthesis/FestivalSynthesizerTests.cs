using OnnxTransfer.WakeWords.Synthesis;

namespace OnnxTransfer.Tests.WakeWords.Synthesis;

public class FestivalSynthesizerTests
{
    private static readonly FestivalSynthesizer Festival = new();

    [Fact]
    public void Batch_ReturnsUtterancesInOrder_AcrossVoiceSwitches()
    {
        var kal = new SynthesisVoice("festival", "kal_diphone");
        var slt = new SynthesisVoice("festival", "cmu_us_slt_arctic_hts");
        SynthesisRequest[] requests =
        [
            new("one", kal), new("one two three four five", kal), new("one", slt),
            new("one two three four five six seven", slt), new("one", kal),
        ];
        var audio = Festival.Synthesize(requests);
        Assert.Equal(requests.Length, audio.Count);
        var seconds = audio.Select(SpeechMeasures.SpeechSeconds).ToArray();
        Assert.True(seconds[1] > 2 * seconds[0], string.Join(", ", seconds));
        Assert.True(seconds[3] > 2 * seconds[2], string.Join(", ", seconds));
        // Back to kal after slt: its settings are restored, so the same request gives the same samples.
        Assert.Equal(audio[0], audio[4]);
        // The female HTS voice is higher than the male diphone voice: the voice switch took effect.
        Assert.True(SpeechMeasures.MedianF0(audio[2]) > 1.2 * SpeechMeasures.MedianF0(audio[0]));
        // One call alone gives the same as within the batch (no state leaks between requests).
        Assert.Equal(audio[3], Festival.Synthesize(requests[3].Text, requests[3].Voice));
    }

    [Fact]
    public void RateAndPitch_DoNotLeakIntoTheNextRequest()
    {
        var kal = new SynthesisVoice("festival", "kal_diphone");
        var alone = Festival.Synthesize("hey jarvis", kal);
        var batch = Festival.Synthesize([new("hey jarvis", kal with { Rate = 0.5, Pitch = 2 }), new("hey jarvis", kal)]);
        Assert.Equal(alone, batch[1]);
    }

    [Theory]
    [InlineData("kal_diphone) (system \"touch /tmp/x\") (voice_kal_diphone")]
    [InlineData("../english/kal_diphone")]
    [InlineData("nonexistent_voice")]
    public void VoiceNames_MustBeDiscoveredFolders(string name)
    {
        var e = Assert.Throws<OnnxTransferException>(() => Festival.Synthesize("hey", new SynthesisVoice("festival", name)));
        Assert.Contains("unknown voice", e.Message);
        Assert.Contains("kal_diphone", e.Message);
    }

    [Theory]
    [InlineData("plain", "\"plain\"")]
    [InlineData("say \"hi\"", "\"say \\\"hi\\\"\"")]
    [InlineData("a\\b\\", "\"a\\\\b\\\\\"")]
    [InlineData("\\\"", "\"\\\\\\\"\"")]
    public void Quote_EscapesBackslashAndQuote(string text, string literal) =>
        Assert.Equal(literal, FestivalSynthesizer.Quote(text));

    [Fact]
    public void Script_HasOneVoiceSelectionPerRunOfRequests_AndTheTextOnlyAsALiteral()
    {
        var kal = new SynthesisVoice("festival", "kal_diphone");
        var slt = new SynthesisVoice("festival", "cmu_us_slt_arctic_hts");
        SynthesisRequest[] requests = [new("a", kal), new("b", kal), new("c\") (system \"x", slt), new("d", kal)];
        var script = Festival.Script(requests, requests.Select(r => r.Text).ToArray(), ["/t/0.wav", "/t/1.wav", "/t/2.wav", "/t/3.wav"]);
        Assert.Equal(2, script.Split("(voice_kal_diphone)").Length - 1);
        Assert.Equal(1, script.Split("(voice_cmu_us_slt_arctic_hts)").Length - 1);
        Assert.Contains("(Utterance Text \"c\\\") (system \\\"x\")", script);
        Assert.Contains("(list \"-r\" 1)", script);
    }

    [Fact]
    public void VoiceDiscovery_ReadsEnglishVoiceFolders_Only()
    {
        using var dir = new TempDir();
        foreach (var v in new[] { "english/kal_diphone/festvox", "us/cmu_us_x_hts/festvox", "spanish/el_diphone/festvox", "us/not_a_voice" })
            Directory.CreateDirectory(Path.Combine(dir.Path, v));
        var festival = new FestivalSynthesizer(voicesFolder: dir.Path);
        Assert.Equal(["kal_diphone", "cmu_us_x_hts"], festival.VoiceNames);
        Assert.Equal(SynthesisControls.Rate, festival.Controls("cmu_us_x_hts"));
        Assert.Equal(SynthesisControls.RateAndPitch, festival.Controls("kal_diphone"));
        var empty = new FestivalSynthesizer(voicesFolder: Path.Combine(dir.Path, "missing"));
        var e = Assert.Throws<OnnxTransferException>(empty.EnsureAvailable);
        Assert.Contains("no English voices", e.Message);
        Assert.Contains("festvox-kallpc16k", e.Message);
    }
}
