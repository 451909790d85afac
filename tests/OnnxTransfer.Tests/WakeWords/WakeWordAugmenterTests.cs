using OnnxTransfer.Audio;
using OnnxTransfer.WakeWords;
using OnnxTransfer.Training.Engine;

namespace OnnxTransfer.Tests.WakeWords;

public class WakeWordAugmenterTests
{
    private static float[] Tone(int length, double hz, float amplitude) =>
        Enumerable.Range(0, length).Select(i => (float)(amplitude * Math.Sin(2 * Math.PI * hz * i / 16000))).ToArray();

    private static readonly WakeWordAugmentationOptions Dry = new()
    {
        VoiceProbability = 0, RoomProbability = 0, ChannelProbability = 0, NoiseProbability = 0, MinPeakDb = -6, MaxPeakDb = -6,
    };

    [Fact]
    public void Positive_EndsWithinTheEndGap()
    {
        var speech = Tone(8000, 300, 0.8f);
        var augmenter = new WakeWordAugmenter(Dry);
        for (ulong seed = 1; seed <= 20; seed++)
        {
            var (clip, applied) = augmenter.Make(speech, 33280, positive: true, new SeededRandom(seed));
            Assert.Equal(33280, clip.Length);
            var last = Array.FindLastIndex(clip, v => Math.Abs(v) > 1e-4f);
            var first = Array.FindIndex(clip, v => Math.Abs(v) > 1e-4f);
            Assert.InRange(clip.Length - 1 - last, 0, 3200);       // 0-200 ms before the end
            Assert.InRange(last - first + 1, 7990, 8000);            // the whole tone is there
            Assert.Equal(-6, applied.PeakDb, 6);
            Assert.InRange(SignalLevel.Peak(clip), 0.5, 0.502);
        }
    }

    [Fact]
    public void Background_IsMixedAtTheRecordedSnr()
    {
        var options = Dry with { NoiseProbability = 1, MinSnrDb = 3, MaxSnrDb = 20 };
        var speech = Tone(8000, 300, 0.8f);
        var (noisy, applied) = new WakeWordAugmenter(options).Make(speech, 33280, positive: true, new SeededRandom(9));
        Assert.NotNull(applied.SnrDb);
        // Same draws, no background: the clean placed clip (the background decision is drawn either way, then the
        // background itself, so the clean run must not draw further: compare through the placed tone instead).
        var (clean, _) = new WakeWordAugmenter(Dry).Make(speech, 33280, positive: true, new SeededRandom(9));
        var end = Array.FindLastIndex(clean, v => Math.Abs(v) > 1e-4f) + 1;
        // Both clips are peak-normalised; find the speech's gain inside the noisy clip by least squares (the noise is
        // independent of it), then the residual over the whole clip is the background, whose power over the whole
        // clip is what the SNR was set against.
        var cleanSpan = clean.AsSpan(end - 8000, 8000);
        double dot = 0, cc = 0;
        for (var i = 0; i < clean.Length; i++) { dot += noisy[i] * (double)clean[i]; cc += clean[i] * (double)clean[i]; }
        var scale = dot / cc;
        var residual = noisy.Select((v, i) => (float)(v - scale * clean[i])).ToArray();
        var measured = 10 * Math.Log10(scale * scale * SignalLevel.MeanSquare(cleanSpan) / SignalLevel.MeanSquare(residual));
        Assert.InRange(measured, applied.SnrDb!.Value - 1, applied.SnrDb.Value + 1);
    }

    [Fact]
    public void SameSeed_SameClip_AndEveryStageRuns()
    {
        var options = new WakeWordAugmentationOptions { VoiceProbability = 1, RoomProbability = 1, ChannelProbability = 1, NoiseProbability = 1 };
        var talkers = new[] { Tone(12000, 180, 0.5f), Tone(9000, 240, 0.5f), Tone(15000, 130, 0.5f) };
        var augmenter = new WakeWordAugmenter(options, babbleTalkers: talkers);
        var speech = Tone(12000, 200, 0.7f);
        var (a, applied) = augmenter.Make(speech, 33280, positive: false, new SeededRandom(4));
        var (b, _) = augmenter.Make(speech, 33280, positive: false, new SeededRandom(4));
        Assert.Equal(a, b);
        Assert.NotNull(applied.Voice);
        Assert.NotNull(applied.Rt60);
        Assert.NotNull(applied.Channel);
        Assert.NotEqual("none", applied.Background);
        Assert.All(a, v => Assert.True(float.IsFinite(v) && Math.Abs(v) <= 1));
        var kinds = Enumerable.Range(0, 60).Select(s => augmenter.Background(16000, new SeededRandom((ulong)s)).Kind).Distinct().ToArray();
        Assert.Contains("babble", kinds);
        Assert.Contains("pink", kinds);
    }

    [Fact]
    public void BadRanges_AreRefused()
    {
        Assert.Throws<OnnxTransferException>(() => new WakeWordAugmenter(new WakeWordAugmentationOptions { RoomProbability = 1.5 }));
        Assert.Throws<OnnxTransferException>(() => new WakeWordAugmenter(new WakeWordAugmentationOptions { MinSnrDb = 10, MaxSnrDb = 0 }));
    }
}
