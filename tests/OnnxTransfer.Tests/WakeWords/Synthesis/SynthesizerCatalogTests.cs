using OnnxTransfer.WakeWords.Synthesis;

namespace OnnxTransfer.Tests.WakeWords.Synthesis;

public class SynthesizerCatalogTests
{
    [Fact]
    public void All_IsTheThreeEngines_AndAllAreInstalledHere()
    {
        Assert.Equal(["espeak-ng", "flite", "festival"], SynthesizerCatalog.All.Select(s => s.Engine));
        Assert.Equal(SynthesizerCatalog.All, SynthesizerCatalog.Installed());
        Assert.Contains("unknown engine", Assert.Throws<OnnxTransferException>(() => SynthesizerCatalog.For("sam")).Message);
    }

    [Fact]
    public void Voices_AreNonEmptyPerEngine_UniqueSpeakers_NoMbrolaNoClockNoDuplicateKal()
    {
        var voices = SynthesizerCatalog.Voices(SynthesizerCatalog.All);
        foreach (var engine in SynthesizerCatalog.All)
            Assert.Contains(voices, v => v.Engine == engine.Engine);
        Assert.Equal(voices.Count, voices.Select(v => $"{v.Engine}:{v.Name}").Distinct().Count());
        // One recorded person voiced by two engines is one speaker: flite slt = festival slt, flite kal16 = festival kal.
        Assert.Equal(voices.Count - 2, voices.Select(v => v.Speaker).Distinct().Count());
        Assert.All(voices, v => Assert.Equal((1.0, 1.0), (v.Rate, v.Pitch)));
        Assert.DoesNotContain(voices, v => v.Name.Contains("mb-", StringComparison.Ordinal) || v.Name.Contains("mbrola", StringComparison.OrdinalIgnoreCase));
        Assert.DoesNotContain(voices, v => v.Name == "awb_time" || v.Speaker == "flite:kal");
        var espeak = voices.Where(v => v.Engine == "espeak-ng").Select(v => v.Name).ToArray();
        Assert.Contains("en-us", espeak);
        Assert.Contains("en-us+f2", espeak);
        Assert.Contains("en-gb-scotland+klatt", espeak);
        Assert.DoesNotContain(espeak, n => n.StartsWith("Storm", StringComparison.Ordinal)); // a variant listed among the voices
        Assert.True(espeak.Length >= 7 * 50, $"{espeak.Length} espeak voices");
        Assert.Equal(["kal16", "awb", "rms", "slt"], voices.Where(v => v.Engine == "flite").Select(v => v.Name));
        Assert.Equal(["kal_diphone", "ked_diphone", "cmu_us_slt_arctic_hts"], voices.Where(v => v.Engine == "festival").Select(v => v.Name));
    }

    [Fact]
    public void SynthesisVoice_SpeakerIgnoresRateAndPitch_AndPrintsReadably()
    {
        var v = new SynthesisVoice("espeak-ng", "en-us+f2", 1.25, 0.8);
        Assert.Equal("espeak-ng:en-us+f2", v.Speaker);
        Assert.Equal(v.Speaker, (v with { Rate = 2, Pitch = 2 }).Speaker);
        Assert.Equal("espeak-ng:en-us+f2 rate=1.25 pitch=0.8", v.ToString());
    }

    [Fact]
    public void EspeakListings_AreParsed_WithoutMbrolaOrVariantRows()
    {
        const string voices = """
            Pty Language       Age/Gender VoiceName          File                 Other Languages
             2  en-gb           --/M      English_(Great_Britain) gmw/en               (en 2)
             3  en-uk           --/M      english-mb-en1     mb/mb-en1            (en-gb 3)(en 2)
             2  en-us           --/M      English_(America)  gmw/en-US            (en 3)
             5  en-us           --/F      us-mbrola-1        mb/mb-us1            (en 8)
             5  variant         --/M      Storm              !v/Storm             (en-us 5)
             5  en-us-nyc       --/M      English_(America,_New_York_City) gmw/en-US-nyc
            """;
        Assert.Equal(["en-gb", "en-us", "en-us-nyc"], EspeakSynthesizer.ParseVoices(voices));
        const string variants = """
            Pty Language       Age/Gender VoiceName          File                 Other Languages
             5  variant         --/M      Adam               !v/adam
             5  variant         --/F      Alicia             !v/Alicia
            """;
        Assert.Equal(["adam", "Alicia"], EspeakSynthesizer.ParseVariants(variants));
        Assert.Empty(EspeakSynthesizer.ParseVoices("garbage"));
    }

    [Fact]
    public void FliteListing_IsParsed_WithoutTheClockOrTheNarrowbandKal() =>
        Assert.Equal(["kal16", "awb", "rms", "slt"], FliteSynthesizer.ParseVoices("Voices available: kal awb_time kal16 awb rms slt \n"));
}
