using OnnxTransfer.WakeWords;

namespace OnnxTransfer.Tests.WakeWords;

public class SpeakerIdentityTests
{
    [Fact]
    public void Speakers_OfRealDatasets_AndOfSynthesizedClips()
    {
        Assert.Equal("speech-commands:6a27a9bf", SpeakerIdentity.Of("/x/sheila/6a27a9bf_nohash_0.wav"));
        Assert.Equal("fsdd:jackson", SpeakerIdentity.Of("/x/recordings/0_jackson_12.wav"));
        using var dir = new TempDir();
        var manifest = WakeWordDataGenerator.Generate(dir.Path, new WakeWordDataOptions { Phrase = "alexa", Positives = 4, Negatives = 0, Seed = 3, Threads = 2 });
        foreach (var clip in manifest.Clips)
            Assert.Equal(clip.Speaker, SpeakerIdentity.Of(Path.Combine(dir.Path, clip.Path)));
    }

    [Fact]
    public void CheckDisjoint_RefusesASharedFileOrSpeaker_AndPassesDisjointSets()
    {
        var sc = SharedAssets.Dataset("speech_commands_subset");
        var sheila = Directory.GetFiles(Path.Combine(sc, "sheila"), "*.wav").Order().ToArray();
        var training = sheila[..5];
        var evaluation = sheila[5..];
        SpeakerIdentity.CheckDisjoint(evaluation, training, training.Select(SpeakerIdentity.Of), "positive");

        var sameFile = Assert.Throws<OnnxTransferException>(() => SpeakerIdentity.CheckDisjoint([training[0]], training, [], "positive"));
        Assert.Contains("was used in training", sameFile.Message);
        // The same person saying another word is the same speaker: 708a9569 says "sheila" (training) and "bed".
        Assert.Contains(training, f => Path.GetFileName(f).StartsWith("708a9569_", StringComparison.Ordinal));
        var bed = Path.Combine(sc, "bed", "708a9569_nohash_1.wav");
        var sameSpeaker = Assert.Throws<OnnxTransferException>(() => SpeakerIdentity.CheckDisjoint([bed], training, training.Select(SpeakerIdentity.Of), "negative"));
        Assert.Contains("was heard in training", sameSpeaker.Message);
    }
}
