using OnnxTransfer.Training;
using OnnxTransfer.WakeWords;

namespace OnnxTransfer.Tests.WakeWords;

public class AugmenterTests
{
    private static float[] Tone(int length, double hz, float amplitude) =>
        Enumerable.Range(0, length).Select(i => (float)(amplitude * Math.Sin(2 * Math.PI * hz * i / 16000))).ToArray();

    private static double Db(double ratio) => 10 * Math.Log10(ratio);

    [Theory]
    [InlineData(0.0)]
    [InlineData(10.0)]
    [InlineData(25.0)]
    public void MixAtSnr_GivesTheRequestedSnr(double snr)
    {
        var signal = Tone(16000, 440, 0.3f);
        var clean = (float[])signal.Clone();
        var noise = Augmenter.PinkNoise(16000, new SeededRandom(2));
        Augmenter.MixAtSnr(signal, noise, Augmenter.MeanSquare(clean), snr);
        var residual = signal.Select((v, i) => v - clean[i]).ToArray();
        Assert.InRange(Db(Augmenter.MeanSquare(clean) / Augmenter.MeanSquare(residual)), snr - 0.5, snr + 0.5);
    }

    [Fact]
    public void Apply_SnrMeasuredOnTheSpeechSpan_MatchesTheRecordedSnr()
    {
        var options = new AugmentationOptions { NoiseProbability = 1, ReverbProbability = 0, MinPeakDb = -20, MaxPeakDb = -20, MinSnrDb = 3, MaxSnrDb = 20 };
        var speech = Tone(8000, 300, 0.8f);
        var augmenter = new Augmenter(options);
        var (noisy, applied) = augmenter.Apply(speech, 40000, 1000, new SeededRandom(9));
        // Same draws without noise: the clean placed clip (the noise decision is drawn either way).
        var (clean, dry) = new Augmenter(options with { NoiseProbability = 0 }).Apply(speech, 40000, 1000, new SeededRandom(9));
        Assert.Null(dry.SnrDb);
        Assert.NotNull(applied.SnrDb);
        var span = clean.AsSpan(40000 - 1000 - 8000, 8000);
        var noise = noisy.Select((v, i) => v - clean[i]).ToArray();
        var measured = Db(Augmenter.MeanSquare(span) / Augmenter.MeanSquare(noise));
        Assert.InRange(measured, applied.SnrDb!.Value - 0.5, applied.SnrDb.Value + 0.5);
        Assert.All(clean.AsSpan(0, 40000 - 9000).ToArray(), v => Assert.Equal(0f, v)); // speech placed at the end only
    }

    [Fact]
    public void TrimSilence_KeepsTheToneOnly()
    {
        var x = new float[48000];
        Tone(16000, 500, 0.5f).CopyTo(x, 16000);
        var (start, length) = Augmenter.SpeechSpan(x);
        Assert.InRange(start, 16000 - 160, 16000);
        Assert.InRange(length, 16000, 16000 + 320);
    }

    [Fact]
    public void Reverb_TailDecaysAbout60DbOverRt60()
    {
        var impulse = new float[1];
        impulse[0] = 1;
        const double rt60 = 0.4;
        var response = Augmenter.Reverberate(impulse, rt60, 0.5, new SeededRandom(4));
        var n = (int)(rt60 * 16000);
        Assert.Equal(n, response.Length);
        // Energy of [10%,20%] vs [70%,80%] of rt60: 60 dB * 0.6 = 36 dB apart (noise makes it approximate).
        double Energy(double a, double b) => Augmenter.MeanSquare(response.AsSpan((int)(a * n), (int)((b - a) * n)));
        Assert.InRange(Db(Energy(0.1, 0.2) / Energy(0.7, 0.8)), 30, 42);
    }

    [Fact]
    public void PinkNoise_HasMoreLowThanHighFrequencyEnergy()
    {
        var pink = Augmenter.PinkNoise(32000, new SeededRandom(1));
        Assert.InRange(Augmenter.MeanSquare(pink), 0.99, 1.01);
        // First difference emphasises high frequencies: for white noise it doubles the power, for pink it shrinks it.
        var diff = pink.Skip(1).Select((v, i) => v - pink[i]).ToArray();
        Assert.True(Augmenter.MeanSquare(diff) < 1.0);
        var white = Augmenter.WhiteNoise(32000, new SeededRandom(1));
        var whiteDiff = white.Skip(1).Select((v, i) => v - white[i]).ToArray();
        Assert.InRange(Augmenter.MeanSquare(whiteDiff) / Augmenter.MeanSquare(white), 1.9, 2.1);
    }
}
