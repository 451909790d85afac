using System.Text.Json;
using OnnxTransfer.Audio;
using OnnxTransfer.WakeWords;
using OnnxTransfer.WakeWords.Synthesis;
using OnnxTransfer.Training.Engine;

namespace OnnxTransfer.Tests.WakeWords;

public class SynthesisTests
{
    private static WakeWordDataOptions Small(ulong seed) => new()
    {
        Phrase = "alexa",
        Positives = 6,
        Negatives = 4,
        Seed = seed,
        Threads = 2,
    };

    [Fact]
    public void Renders_AreTrimmedSpeech_FromEveryInstalledSynthesizer()
    {
        using var dir = new TempDir();
        var manifest = WakeWordDataGenerator.Generate(dir.Path, Small(7) with { Positives = 24, Negatives = 0 });
        Assert.Equal(["espeak-ng", "festival", "flite"], manifest.Engines.Order());
        Assert.Equal(["espeak-ng", "festival", "flite"], manifest.Clips.Select(c => c.Voice.Split(':')[0]).Distinct().Order());
        foreach (var c in manifest.Clips)
        {
            var clip = WavReader.Read(Path.Combine(dir.Path, c.Path));
            Assert.Equal(16000, clip.SampleRate);
            Assert.InRange(clip.Duration, 0.2, 2.0);
            // Trimmed: the first and last 10 ms are already within 40 dB of the loudest frame.
            var (start, length) = SignalLevel.SpeechSpan(clip.Samples);
            Assert.InRange(start, 0, 160);
            Assert.InRange(clip.Samples.Length - start - length, 0, 160);
        }
    }

    [Fact]
    public void SameSeed_SameBytes_WhateverTheThreads_OtherSeed_OtherClips()
    {
        using var a = new TempDir();
        using var b = new TempDir();
        using var c = new TempDir();
        WakeWordDataGenerator.Generate(a.Path, Small(11) with { Threads = 1 });
        WakeWordDataGenerator.Generate(b.Path, Small(11) with { Threads = 2 });
        WakeWordDataGenerator.Generate(c.Path, Small(12));
        var files = Directory.GetFiles(a.Path, "*.wav", SearchOption.AllDirectories).Select(f => Path.GetRelativePath(a.Path, f)).Order().ToArray();
        Assert.Equal(10, files.Length);
        foreach (var f in files)
            Assert.Equal(File.ReadAllBytes(Path.Combine(a.Path, f)), File.ReadAllBytes(Path.Combine(b.Path, f)));
        Assert.Contains(files, f => !File.Exists(Path.Combine(c.Path, f)) || !File.ReadAllBytes(Path.Combine(a.Path, f)).SequenceEqual(File.ReadAllBytes(Path.Combine(c.Path, f))));
    }

    [Fact]
    public void ValSplit_UsesOnlySpeakersTrainingNeverHears()
    {
        using var dir = new TempDir();
        var manifest = WakeWordDataGenerator.Generate(dir.Path, Small(3) with { Positives = 30, Negatives = 10, ValSpeakerFraction = 0.4 });
        Assert.NotEmpty(manifest.ValSpeakers);
        Assert.Empty(manifest.ValSpeakers.Intersect(manifest.TrainSpeakers));
        Assert.Contains(manifest.Clips, c => c.Split == "val");
        foreach (var clip in manifest.Clips)
        {
            Assert.Contains(clip.Speaker, clip.Split == "val" ? manifest.ValSpeakers : manifest.TrainSpeakers);
            Assert.True(File.Exists(Path.Combine(dir.Path, clip.Path)));
        }
        using var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir.Path, SynthesisManifest.FileName)));
        Assert.Equal("alexa", json.RootElement.GetProperty("phrase").GetString());
    }

    [Fact]
    public void LeavingASynthesizerOut_AlsoLeavesOutTheSamePeopleInOtherEngines()
    {
        using var dir = new TempDir();
        var manifest = WakeWordDataGenerator.Generate(dir.Path, Small(5) with { Positives = 40, Negatives = 0, ExcludedEngines = ["festival"] });
        Assert.DoesNotContain("festival", manifest.Engines);
        // festival's kal_diphone and cmu_us_slt_arctic_hts are recordings of the people behind flite's kal16 and slt.
        Assert.DoesNotContain("person:kal", manifest.TrainSpeakers);
        Assert.DoesNotContain("person:slt", manifest.TrainSpeakers);
        Assert.Contains("flite:awb", manifest.TrainSpeakers);
        Assert.All(manifest.Clips, c => Assert.DoesNotContain("festival", c.Voice));
        Assert.Equal(new SynthesisVoice("flite", "slt").Speaker, new SynthesisVoice("festival", "cmu_us_slt_arctic_hts").Speaker);
    }

    [Fact]
    public void UnknownSynthesizer_IsRefusedWithTheChoices()
    {
        using var dir = new TempDir();
        var e = Assert.Throws<OnnxTransferException>(() => WakeWordDataGenerator.Generate(dir.Path, Small(1) with { Engines = ["piper"] }));
        Assert.Contains("unknown synthesizer 'piper'", e.Message);
        Assert.Contains("flite", e.Message);
    }

    [Fact]
    public void MissingEspeak_SaysHowToInstallIt()
    {
        var e = Assert.Throws<OnnxTransferException>(() => new EspeakSynthesizer("/nonexistent/espeak-ng").EnsureAvailable());
        Assert.Contains("apt-get install espeak-ng", e.Message);
    }

    [Fact]
    public void Synthesize_Gives16kHzSpeech_AndTrimRemovesTheSilence()
    {
        var speech = new EspeakSynthesizer().Synthesize("alexa", new SynthesisVoice("espeak-ng", "en-us+m3", 160 / 175.0));
        Assert.True(speech.Length > 3000, $"{speech.Length} samples");
        var trimmed = SignalLevel.TrimSilence(speech);
        Assert.True(trimmed.Length < speech.Length, "espeak pads with silence; trimming shortens it");
        Assert.True(SignalLevel.MeanSquare(trimmed) > SignalLevel.MeanSquare(speech));
    }

    [Fact]
    public void NearMisses_AreDistinct_NeverThePhrase_AndSeeded()
    {
        var a = ConfusablePhrases.NearMisses("hey jarvis", 20, new SeededRandom(5));
        var b = ConfusablePhrases.NearMisses("hey jarvis", 20, new SeededRandom(5));
        Assert.Equal(a, b);
        Assert.Equal(20, a.Count);
        Assert.Equal(a.Count, a.Select(x => x.Replace(" ", "")).Distinct().Count());
        Assert.DoesNotContain(a, x => x.Replace(" ", "") == "heyjarvis");
        Assert.Equal(["a", "le", "xa"], ConfusablePhrases.Syllables("alexa"));
        Assert.Equal(["com", "pu", "ter"], ConfusablePhrases.Syllables("computer"));
    }
}
