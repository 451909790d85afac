using OnnxTransfer.Audio;
using OnnxTransfer.Audio.Augmentation;
using OnnxTransfer.Training.Engine;

namespace OnnxTransfer.Tests.Audio.Augmentation;

public class NoiseMixerTests
{
    private static float[] Tone(int length, double hz, float amplitude) =>
        Enumerable.Range(0, length).Select(i => (float)(amplitude * Math.Sin(2 * Math.PI * hz * i / 16000))).ToArray();

    private static double Db(double ratio) => 10 * Math.Log10(ratio);

    [Theory]
    [InlineData(0.0)]
    [InlineData(10.0)]
    [InlineData(25.0)]
    public void MixAtSnr_HitsTheRequestedSnr(double snr)
    {
        foreach (var noise in new[] { NoiseMixer.Pink(16000, new SeededRandom(2)), NoiseMixer.Brown(16000, new SeededRandom(3)), NoiseMixer.Hum(16000, new SeededRandom(4)) })
        {
            var signal = Tone(16000, 440, 0.3f);
            var clean = (float[])signal.Clone();
            NoiseMixer.MixAtSnr(signal, noise, SignalLevel.MeanSquare(clean), snr);
            var residual = signal.Select((v, i) => v - clean[i]).ToArray();
            Assert.InRange(Db(SignalLevel.MeanSquare(clean) / SignalLevel.MeanSquare(residual)), snr - 0.1, snr + 0.1);
        }
    }

    [Fact]
    public void Colours_HaveUnitRms_AndTheirSlopes()
    {
        // The first difference emphasises high frequencies: white noise doubles its power, pink shrinks it, brown far more.
        static double DiffRatio(float[] x) => SignalLevel.MeanSquare(x.Skip(1).Select((v, i) => v - x[i]).ToArray()) / SignalLevel.MeanSquare(x);
        var white = NoiseMixer.White(32000, new SeededRandom(1));
        var pink = NoiseMixer.Pink(32000, new SeededRandom(1));
        var brown = NoiseMixer.Brown(32000, new SeededRandom(1));
        Assert.InRange(SignalLevel.MeanSquare(pink), 0.99, 1.01);
        Assert.InRange(SignalLevel.MeanSquare(brown), 0.99, 1.01);
        Assert.InRange(DiffRatio(white), 1.9, 2.1);
        Assert.InRange(DiffRatio(pink), 0.05, 1.0);
        Assert.True(DiffRatio(brown) < DiffRatio(pink) / 5, $"brown {DiffRatio(brown)} vs pink {DiffRatio(pink)}");
    }

    [Fact]
    public void TrimSilence_KeepsTheToneOnly()
    {
        var x = new float[48000];
        Tone(16000, 500, 0.5f).CopyTo(x, 16000);
        var (start, length) = SignalLevel.SpeechSpan(x);
        Assert.InRange(start, 16000 - 160, 16000);
        Assert.InRange(length, 16000, 16000 + 320);
        Assert.Equal(length, SignalLevel.TrimSilence(x).Length);
    }
}
