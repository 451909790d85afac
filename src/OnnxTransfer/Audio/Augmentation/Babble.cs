
namespace OnnxTransfer.Audio.Augmentation;

/// <summary>Babble noise: several talkers speaking at once, as in a café or a room with a television.</summary>
internal static class Babble
{
    /// <summary>
    /// The sum of <paramref name="count"/> talkers (distinct while there are enough), each starting at a
    /// random offset, looped to <paramref name="length"/> samples and scaled to unit RMS before summing so no
    /// voice dominates; the sum is scaled to unit RMS.
    /// </summary>
    /// <exception cref="OnnxTransferException">No talkers, only silent ones, or a count below 1.</exception>
    public static float[] Mix(IReadOnlyList<float[]> talkers, int length, int count, SeededRandom rng)
    {
        if (count < 1) throw new OnnxTransferException($"babble talker count {count}: must be at least 1.");
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        var voiced = talkers.Where(t => t.Length > 0 && Signals.Rms(t) > 0).ToArray();
        if (voiced.Length == 0)
            throw new OnnxTransferException($"babble: none of the {talkers.Count} talker recordings has sound; pass speech recordings.");
        var mix = new float[length];
        if (length == 0) return mix;
        foreach (var talker in Pick(voiced, count, rng)) AddLooped(mix, talker, rng.NextInt(talker.Length));
        var rms = Signals.Rms(mix);
        if (rms > 0) Signals.Scale(mix, 1 / rms);
        return mix;
    }

    /// <summary>Draws <paramref name="count"/> talkers: a shuffled pass through all of them, then another, and so on.</summary>
    private static IEnumerable<float[]> Pick(float[][] talkers, int count, SeededRandom rng)
    {
        var order = new float[talkers.Length][];
        for (var drawn = 0; drawn < count; drawn++)
        {
            var position = drawn % talkers.Length;
            if (position == 0)
            {
                talkers.CopyTo(order, 0);
                rng.Shuffle(order.AsSpan());
            }
            yield return order[position];
        }
    }

    // Scaled by the whole recording's RMS, not the looped slice's: a slice may fall in a pause.
    private static void AddLooped(float[] mix, float[] talker, int offset)
    {
        var gain = (float)(1 / Signals.Rms(talker));
        for (var i = 0; i < mix.Length; i++) mix[i] += gain * talker[(offset + i) % talker.Length];
    }
}
