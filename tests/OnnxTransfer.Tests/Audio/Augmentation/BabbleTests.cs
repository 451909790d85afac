using OnnxTransfer.Audio.Augmentation;
using OnnxTransfer.Training.Engine;

namespace OnnxTransfer.Tests.Audio.Augmentation;

public class BabbleTests
{
    private static float[][] Talkers()
    {
        var rng = new SeededRandom(1);
        return Enumerable.Range(0, 6).Select(t => Enumerable.Range(0, 3000 + 500 * t)
            .Select(i => (float)(rng.NextGaussian() * 0.1 * (t + 1) * (i % 800 < 500 ? 1 : 0))).ToArray()).ToArray();
    }

    [Fact]
    public void Mix_has_unit_rms_and_the_requested_length()
    {
        var mix = Babble.Mix(Talkers(), 10000, 4, new SeededRandom(2));
        Assert.Equal(10000, mix.Length);
        Assert.Equal(1.0, Tones.Rms(mix), 4);
    }

    [Fact]
    public void Mix_is_reproducible_per_seed()
    {
        Assert.Equal(Babble.Mix(Talkers(), 5000, 3, new SeededRandom(7)), Babble.Mix(Talkers(), 5000, 3, new SeededRandom(7)));
        Assert.NotEqual(Babble.Mix(Talkers(), 5000, 3, new SeededRandom(7)), Babble.Mix(Talkers(), 5000, 3, new SeededRandom(8)));
    }

    [Fact]
    public void Quiet_and_loud_talkers_contribute_equally()
    {
        float[][] talkers = [Tones.Sine(300, amplitude: 0.01), Tones.Sine(1100, amplitude: 0.9)];
        var mix = Babble.Mix(talkers, 8000, 2, new SeededRandom(4));
        // Both picked (distinct while there are enough), each at unit RMS before the sum.
        Assert.Equal(1.0, Tones.Amplitude(mix, 300) / Tones.Amplitude(mix, 1100), 2);
    }

    [Fact]
    public void Short_talkers_loop_to_fill_the_length()
    {
        // A constant talker has RMS 0.5; looped and scaled it must be exactly 1 everywhere.
        var mix = Babble.Mix([Enumerable.Repeat(0.5f, 37).ToArray()], 1000, 1, new SeededRandom(3));
        Assert.All(mix, v => Assert.Equal(1f, v, 5));
    }

    [Fact]
    public void Silent_talkers_or_no_count_are_refused()
    {
        Assert.Throws<OnnxTransferException>(() => Babble.Mix([new float[100], []], 100, 2, new SeededRandom(1)));
        Assert.Throws<OnnxTransferException>(() => Babble.Mix(Talkers(), 100, 0, new SeededRandom(1)));
        Assert.Empty(Babble.Mix(Talkers(), 0, 2, new SeededRandom(1)));
    }
}
