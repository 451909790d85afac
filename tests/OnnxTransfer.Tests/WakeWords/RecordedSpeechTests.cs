using OnnxTransfer.Audio;
using OnnxTransfer.WakeWords;

namespace OnnxTransfer.Tests.WakeWords;

public class RecordedSpeechTests
{
    private static WakeWordDataOptions Small => new() { Phrase = "alexa", Positives = 4, Negatives = 2, Engines = ["espeak-ng"], Seed = 3, Threads = 2 };

    /// <summary>A KLettres-shaped folder (LANGUAGE/alpha/NAME.ogg) with three of the installed recordings.</summary>
    private static TempDir ThreeRecordings()
    {
        var dir = new TempDir();
        foreach (var (language, letter) in new[] { ("en", "A"), ("en", "B"), ("de", "a") })
        {
            var target = Path.Combine(dir.Path, language, "alpha");
            Directory.CreateDirectory(target);
            File.Copy(Path.Combine(RecordedSpeech.KLettresFolder, language, "alpha", letter + ".ogg"), Path.Combine(target, letter + ".ogg"));
        }
        return dir;
    }

    [Fact]
    public void InstalledKLettres_IsManyReaders_DecodedTo16kHzTrimmedSpeech()
    {
        var speech = new RecordedSpeech();
        Assert.Null(speech.Unavailable());
        var recordings = speech.Find();
        Assert.True(recordings.Count >= 1000, $"{recordings.Count} recordings");
        Assert.True(recordings.Select(r => r.Speaker).Distinct().Count() >= 15);
        Assert.All(recordings, r => Assert.StartsWith("klettres:", r.Speaker, StringComparison.Ordinal));

        var a = recordings.First(r => r.Speaker == "klettres:en" && r.Text == "A");
        var samples = speech.Decode(a, CancellationToken.None);
        Assert.InRange(samples.Length / 16000.0, 0.15, 2.0); // a 2 s file at 44.1 kHz holding one spoken letter
        var (start, length) = SignalLevel.SpeechSpan(samples);
        Assert.InRange(start, 0, 160);
        Assert.InRange(samples.Length - start - length, 0, 160);
        Assert.True(samples.Max(Math.Abs) > 0.05f);
    }

    [Fact]
    public void Synth_AddsRecordingsAsTrainNegatives_NamedAfterTheirReaders()
    {
        using var source = ThreeRecordings();
        using var dir = new TempDir();
        var manifest = WakeWordDataGenerator.Generate(dir.Path, Small, recordings: new RecordedSpeech(source.Path));
        var recorded = manifest.Clips.Where(c => c.Kind == "recording").ToArray();
        Assert.Equal(3, recorded.Length);
        Assert.All(recorded, c =>
        {
            Assert.Equal(("train", WakeWordDataGenerator.NegativeLabel), (c.Split, c.Label));
            Assert.Equal(16000, WavReader.Read(Path.Combine(dir.Path, c.Path)).SampleRate);
            Assert.Equal(c.Speaker, SpeakerIdentity.Of(Path.Combine(dir.Path, c.Path)));
        });
        Assert.Equal(["klettres:de", "klettres:en"], recorded.Select(c => c.Speaker).Distinct().Order());
        Assert.Contains("klettres:en", manifest.TrainSpeakers);
        Assert.DoesNotContain(manifest.ValSpeakers, s => s.StartsWith("klettres:", StringComparison.Ordinal));
        // Named after the synthetic negatives, so the babble made from the first of them stays synthetic.
        var negatives = Directory.GetFiles(Path.Combine(dir.Path, "train", "negative")).Select(Path.GetFileName).Order(StringComparer.Ordinal).ToArray();
        Assert.StartsWith("neg_", negatives[0]);
        Assert.StartsWith("rec_", negatives[^1]);

        using var without = new TempDir();
        var none = WakeWordDataGenerator.Generate(without.Path, Small with { Recordings = false }, recordings: new RecordedSpeech(source.Path));
        Assert.DoesNotContain(none.Clips, c => c.Kind == "recording");
    }

    [Fact]
    public void NotInstalled_SaysWhatToInstall_AndSynthGoesOnWithout()
    {
        using var empty = new TempDir();
        var missing = new RecordedSpeech(Path.Combine(empty.Path, "klettres"));
        Assert.Contains("klettres-data", missing.Unavailable());
        using var noDecoder = ThreeRecordings();
        Assert.Contains("vorbis-tools", new RecordedSpeech(noDecoder.Path, decoder: "oggdec-not-installed").Unavailable());

        using var dir = new TempDir();
        var manifest = WakeWordDataGenerator.Generate(dir.Path, Small, recordings: missing);
        Assert.DoesNotContain(manifest.Clips, c => c.Kind == "recording");
    }

    [Fact]
    public void AnUndecodableRecording_IsAnErrorNamingTheFile()
    {
        using var dir = new TempDir();
        var bad = Path.Combine(dir.Path, "xx", "alpha", "broken.ogg");
        Directory.CreateDirectory(Path.GetDirectoryName(bad)!);
        File.WriteAllBytes(bad, "OggS but not really a Vorbis stream"u8.ToArray());
        var speech = new RecordedSpeech(dir.Path);
        var e = Assert.Throws<OnnxTransferException>(() => speech.Decode(speech.Find().Single(), CancellationToken.None));
        Assert.Contains(bad, e.Message);
    }
}
