using System.Text.Json;
using OnnxTransfer.Audio;
using OnnxTransfer.Training;
using OnnxTransfer.WakeWords;
using OnnxTransfer.WakeWords.Synthesis;

namespace OnnxTransfer.Tests.WakeWords;

public class SynthesisTests
{
    private static WakeWordDataOptions Small(ulong seed, double noise = 0.9) => new()
    {
        Phrase = "alexa",
        Positives = 3,
        Negatives = 3,
        TestFraction = 0.34,
        Seed = seed,
        Threads = 2,
        Augmentation = new AugmentationOptions { NoiseProbability = noise, MinPeakDb = -6, MaxPeakDb = -3 },
    };

    [Fact]
    public void Positives_AreAtLeastTwoSeconds_WithThePhraseEndingNearTheEnd()
    {
        using var dir = new TempDir();
        var manifest = WakeWordDataGenerator.Generate(dir.Path, Small(7, noise: 0)); // no noise: silence around the speech is digital zero
        var positives = manifest.Clips.Where(c => c.Label == "positive").ToArray();
        Assert.Equal(3, positives.Length);
        foreach (var c in positives)
        {
            var clip = WavReader.Read(Path.Combine(dir.Path, c.Path));
            Assert.Equal(16000, clip.SampleRate);
            Assert.True(clip.Duration >= 2.0, $"{c.Path}: {clip.Duration} s");
            var s = clip.Samples;
            // Energy in the last 400 ms (the phrase's end, 0-200 ms before the clip's end) vs the first 400 ms (silence).
            var tail = Augmenter.MeanSquare(s.AsSpan(s.Length - 6400));
            var head = Augmenter.MeanSquare(s.AsSpan(0, 6400));
            Assert.True(tail > 1e-4 && tail > 1000 * head, $"{c.Path}: tail {tail}, head {head}");
            // The last non-silent sample is within 200 ms (+ one 10 ms frame) of the end.
            var last = Array.FindLastIndex(s, v => Math.Abs(v) > 1e-3f);
            Assert.InRange(s.Length - 1 - last, 0, 3200 + 160);
            Assert.InRange(c.EndGapSeconds, 0, 0.2);
        }
    }

    [Fact]
    public void SameSeed_SameBytes_OtherSeed_OtherClips()
    {
        using var a = new TempDir();
        using var b = new TempDir();
        using var c = new TempDir();
        WakeWordDataGenerator.Generate(a.Path, Small(11) with { Threads = 1 });
        WakeWordDataGenerator.Generate(b.Path, Small(11) with { Threads = 2 });
        WakeWordDataGenerator.Generate(c.Path, Small(12));
        var files = Directory.GetFiles(a.Path, "*.wav", SearchOption.AllDirectories).Select(f => Path.GetRelativePath(a.Path, f)).Order().ToArray();
        Assert.Equal(6, files.Length);
        foreach (var f in files)
            Assert.Equal(File.ReadAllBytes(Path.Combine(a.Path, f)), File.ReadAllBytes(Path.Combine(b.Path, f)));
        Assert.Contains(files, f => !File.ReadAllBytes(Path.Combine(a.Path, f)).SequenceEqual(File.ReadAllBytes(Path.Combine(c.Path, f))));
    }

    [Fact]
    public void TestSplit_UsesOnlyHeldOutVoiceVariants()
    {
        using var dir = new TempDir();
        var manifest = WakeWordDataGenerator.Generate(dir.Path, Small(3) with { Positives = 4, Negatives = 2, TestFraction = 0.5 });
        Assert.Empty(manifest.TestVariants.Intersect(manifest.TrainVariants));
        Assert.NotEmpty(manifest.TestVariants);
        foreach (var clip in manifest.Clips.Where(c => c.Voice.Length > 0))
        {
            var variant = clip.Voice.Split(' ')[0].Split('+') is [_, var v] ? v : "";
            Assert.Contains(variant, clip.Split == "test" ? manifest.TestVariants : manifest.TrainVariants);
            Assert.True(File.Exists(Path.Combine(dir.Path, clip.Split, clip.Label, Path.GetFileName(clip.Path))));
        }
        Assert.Equal(2, manifest.Clips.Count(c => c.Split == "test" && c.Label == "positive"));
        using var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir.Path, SynthesisManifest.FileName)));
        Assert.Equal("alexa", json.RootElement.GetProperty("Phrase").GetString());
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
        var trimmed = Augmenter.TrimSilence(speech);
        Assert.True(trimmed.Length < speech.Length, "espeak pads with silence; trimming shortens it");
        Assert.True(Augmenter.MeanSquare(trimmed) > Augmenter.MeanSquare(speech));
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
