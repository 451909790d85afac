using OnnxTransfer.WakeWords.Synthesis;

namespace OnnxTransfer.Tests.WakeWords.Synthesis;

/// <summary>The same behaviour asked of every engine (each installed here by tools/bootstrap).</summary>
public class EngineTests
{
    internal static ISpeechSynthesizer Engine(string name) => SynthesizerCatalog.For(name);

    private static float[][] Speak(string engine, params (string Text, SynthesisVoice Voice)[] requests) =>
        Engine(engine).Synthesize(requests.Select(r => new SynthesisRequest(r.Text, r.Voice)).ToArray()).ToArray();

    [Theory]
    [InlineData("espeak-ng", "en-us", "en-gb-scotland+f2")]
    [InlineData("flite", "slt", "kal16")]
    [InlineData("flite", "awb", "rms")]
    [InlineData("festival", "kal_diphone", "cmu_us_slt_arctic_hts")]
    [InlineData("festival", "ked_diphone", "kal_diphone")]
    public void HeyJarvis_IsSpeech_AndTwoVoicesDiffer(string engine, string voiceA, string voiceB)
    {
        var audio = Speak(engine, ("hey jarvis", new SynthesisVoice(engine, voiceA)), ("hey jarvis", new SynthesisVoice(engine, voiceB)));
        Assert.Equal(2, audio.Length);
        foreach (var (a, voice) in audio.Zip([voiceA, voiceB]))
        {
            Assert.InRange(a.Length / 16000.0, 0.3, 3.0);
            Assert.InRange(SpeechMeasures.SpeechSeconds(a), 0.3, 3.0);
            Assert.True(SpeechMeasures.Rms(a) > 0.02, $"{voice}: speech RMS {SpeechMeasures.Rms(a):0.0000}");
            Assert.All(a, v => Assert.InRange(v, -1f, 1f));
            Assert.True(double.IsFinite(SpeechMeasures.MedianF0(a)), $"{voice}: no voiced frame");
        }
        Assert.False(audio[0].AsSpan().SequenceEqual(audio[1]), $"{voiceA} and {voiceB} gave the same audio");
        // Different speakers: their average spectra (timbre) differ far more than one voice's at another speed.
        var between = SpeechMeasures.SpectrumDistanceDb(audio[0], audio[1]);
        var within = SpeechMeasures.SpectrumDistanceDb(audio[0], Engine(engine).Synthesize("hey jarvis", new SynthesisVoice(engine, voiceA, Rate: 1.2)));
        Assert.True(between > 2 * within && between > 2, $"spectrum distance between voices {between:0.0} dB, within {voiceA} {within:0.0} dB");
    }

    [Theory]
    [InlineData("espeak-ng", "en-us+m3")]
    [InlineData("flite", "slt")]
    [InlineData("flite", "rms")]
    [InlineData("festival", "kal_diphone")]
    [InlineData("festival", "cmu_us_slt_arctic_hts")]
    public void FasterRate_GivesShorterSpeech(string engine, string voice)
    {
        Assert.True(Engine(engine).Controls(voice).HasFlag(SynthesisControls.Rate));
        const string text = "hey jarvis, turn on the lights";
        var audio = Speak(engine, (text, new SynthesisVoice(engine, voice, Rate: 1.5)), (text, new SynthesisVoice(engine, voice)),
            (text, new SynthesisVoice(engine, voice, Rate: 0.75)));
        var (fast, normal, slow) = (SpeechMeasures.SpeechSeconds(audio[0]), SpeechMeasures.SpeechSeconds(audio[1]), SpeechMeasures.SpeechSeconds(audio[2]));
        Assert.True(fast < normal && normal < slow, $"{fast:0.00} s, {normal:0.00} s, {slow:0.00} s");
        Assert.True(fast < 0.7 * slow, $"rate 1.5: {fast:0.00} s vs rate 0.75: {slow:0.00} s (expected about half)");
    }

    [Theory]
    [InlineData("espeak-ng", "en-us")]
    [InlineData("espeak-ng", "en-gb-x-rp+f3")]
    [InlineData("flite", "slt")]
    [InlineData("flite", "kal16")]
    [InlineData("flite", "awb")]
    [InlineData("festival", "kal_diphone")]
    [InlineData("festival", "ked_diphone")]
    public void HigherPitch_RaisesTheAverageF0(string engine, string voice)
    {
        Assert.True(Engine(engine).Controls(voice).HasFlag(SynthesisControls.Pitch));
        const string text = "hey jarvis";
        var audio = Speak(engine, (text, new SynthesisVoice(engine, voice, Pitch: 0.75)), (text, new SynthesisVoice(engine, voice)),
            (text, new SynthesisVoice(engine, voice, Pitch: 1.4)));
        var f0 = audio.Select(SpeechMeasures.MedianF0).ToArray();
        Assert.True(f0[0] < f0[1] && f0[1] < f0[2], $"f0 at pitch 0.75, 1, 1.4: {string.Join(", ", f0.Select(f => f.ToString("0")))} Hz");
        Assert.True(f0[2] / f0[0] > 1.3, $"f0 ratio {f0[2] / f0[0]:0.00} for a pitch ratio of 1.87");
    }

    [Theory]
    [InlineData("flite", "rms")]
    [InlineData("festival", "cmu_us_slt_arctic_hts")]
    public void PitchOnAVoiceWithoutPitchControl_IsRefusedInOneLine(string engine, string voice)
    {
        Assert.False(Engine(engine).Controls(voice).HasFlag(SynthesisControls.Pitch));
        var e = Assert.Throws<OnnxTransferException>(() => Engine(engine).Synthesize("hey jarvis", new SynthesisVoice(engine, voice, Pitch: 1.2)));
        Assert.Contains("cannot change its pitch", e.Message);
        Assert.DoesNotContain('\n', e.Message);
    }

    [Theory]
    [InlineData("espeak-ng", "en-us")]
    [InlineData("flite", "slt")]
    [InlineData("festival", "kal_diphone")]
    [InlineData("festival", "cmu_us_slt_arctic_hts")]
    public void SchemeAndShellMetacharacters_AreSpoken_NeverExecuted(string engine, string voice)
    {
        var marker = Path.Combine(Path.GetTempPath(), $"onnxtransfer-pwned-{Guid.NewGuid():N}");
        string[] texts =
        [
            $"\"; (system \"touch {marker}\") \"",
            $"\") (system \"touch {marker}\") (\"",
            $"hey \\\") (system \\\"touch {marker}\\\") ; jarvis",
            $"jarvis $(touch {marker}) `touch {marker}` && touch {marker}",
            "back slash at the end \\",
        ];
        var audio = Speak(engine, texts.Select(t => (t, new SynthesisVoice(engine, voice))).ToArray());
        Assert.Equal(texts.Length, audio.Length);
        Assert.All(audio, a => Assert.True(SpeechMeasures.SpeechSeconds(a) > 0.5, $"{SpeechMeasures.SpeechSeconds(a):0.00} s"));
        Assert.False(File.Exists(marker), "a phrase was executed");
    }

    [Theory]
    [InlineData("espeak-ng", "en-us")]
    [InlineData("flite", "slt")]
    [InlineData("festival", "kal_diphone")]
    public void EmptyOrPunctuationOnlyText_IsRefusedInOneLine(string engine, string voice)
    {
        foreach (var (text, expected) in new[] { ("", "empty"), ("  \n\t", "empty"), ("; ( ) ...", "no letters") })
        {
            var e = Assert.Throws<OnnxTransferException>(() => Engine(engine).Synthesize(text, new SynthesisVoice(engine, voice)));
            Assert.StartsWith(engine + ":", e.Message);
            Assert.Contains(expected, e.Message);
            Assert.DoesNotContain('\n', e.Message);
        }
    }

    [Theory]
    [InlineData("flite", "slt")]
    [InlineData("festival", "kal_diphone")]
    public void AsciiEngines_FoldAccents_AndRefuseOtherScripts(string engine, string voice)
    {
        var v = new SynthesisVoice(engine, voice);
        var audio = Speak(engine, ("café naïve “jarvis”", v), ("cafe naive \"jarvis\"", v));
        Assert.Equal(audio[1], audio[0]);
        var e = Assert.Throws<OnnxTransferException>(() => Engine(engine).Synthesize("hey 日本", v));
        Assert.Contains("U+65E5", e.Message);
        Assert.Contains("ASCII", e.Message);
    }

    [Fact]
    public void Espeak_SpeaksUnicodeText()
    {
        var audio = Engine("espeak-ng").Synthesize("café naïve", new SynthesisVoice("espeak-ng", "en-us"));
        Assert.True(SpeechMeasures.SpeechSeconds(audio) > 0.4);
    }

    [Theory]
    [InlineData("espeak-ng", "en-us")]
    [InlineData("flite", "slt")]
    [InlineData("festival", "kal_diphone")]
    public void VoiceOfAnotherEngine_UnknownVoice_AndOutOfRangeRate_AreRefused(string engine, string voice)
    {
        var synthesizer = Engine(engine);
        var other = new SynthesisVoice(engine == "flite" ? "festival" : "flite", "slt");
        Assert.Contains("belongs to", Assert.Throws<OnnxTransferException>(() => synthesizer.Synthesize("hi", other)).Message);
        Assert.Contains("outside", Assert.Throws<OnnxTransferException>(() => synthesizer.Synthesize("hi", new SynthesisVoice(engine, voice, Rate: 10))).Message);
        var bogus = Assert.Throws<OnnxTransferException>(() => synthesizer.Synthesize("hi", new SynthesisVoice(engine, "-no such voice")));
        Assert.StartsWith(engine + ":", bogus.Message);
    }

    [Theory]
    [InlineData("espeak-ng", "en-us", "en-gb+f1")]
    [InlineData("flite", "slt", "awb")]
    [InlineData("festival", "kal_diphone", "cmu_us_slt_arctic_hts")]
    public void ConcurrentCalls_GiveTheSameAudioAsOneAtATime(string engine, string voiceA, string voiceB)
    {
        var synthesizer = Engine(engine);
        SynthesisRequest[][] batches =
        [
            [new("hey jarvis", new SynthesisVoice(engine, voiceA)), new("good morning", new SynthesisVoice(engine, voiceB))],
            [new("open the door", new SynthesisVoice(engine, voiceB)), new("hey jarvis", new SynthesisVoice(engine, voiceA, Rate: 1.2))],
            [new("what time is it", new SynthesisVoice(engine, voiceA))],
        ];
        var sequential = batches.Select(b => synthesizer.Synthesize(b)).ToArray();
        var parallel = new IReadOnlyList<float[]>[batches.Length];
        Parallel.For(0, batches.Length, new ParallelOptions { MaxDegreeOfParallelism = batches.Length }, i => parallel[i] = synthesizer.Synthesize(batches[i]));
        for (var i = 0; i < batches.Length; i++)
        for (var j = 0; j < batches[i].Length; j++)
            Assert.Equal(sequential[i][j], parallel[i][j]);
    }
}
