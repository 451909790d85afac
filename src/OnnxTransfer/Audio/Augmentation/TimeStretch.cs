using System.Numerics.Tensors;

namespace OnnxTransfer.Audio.Augmentation;

/// <summary>
/// Waveform-similarity overlap-add (WSOLA, Verhelst &amp; Roelands 1993): changes duration while keeping pitch
/// and formants. Frames of 24 ms (50 % overlapped Hann, which sums to exactly 1) are laid at a fixed
/// synthesis hop; each is read from the input near its nominal time, shifted by up to ±8 ms to the position
/// whose waveform best continues the previous frame, so periods line up and there is no phasiness.
/// </summary>
/// <remarks>
/// Written here rather than using <c>NWaves.Operations.Tsm.Wsola</c> because that one stops a window plus the
/// search range (~100 ms) before the end of the input (the tail of a keyword would be lost), rounds the
/// synthesis hop down (stretch off by up to 1/hop) and reads the first continuation from a negative offset.
/// Here the analysis positions are fractional (rounded per frame), so the stretch is exact on average and the
/// output has exactly round(N·stretch) samples.
/// </remarks>
internal static class TimeStretch
{
    /// <summary>Returns <paramref name="x"/> lasting <paramref name="stretch"/> times as long (2 = half speed).</summary>
    public static float[] Apply(ReadOnlySpan<float> x, double stretch, int sampleRate)
    {
        var outLength = (int)Math.Round(x.Length * stretch);
        var hop = Math.Max(8, (int)Math.Round(0.012 * sampleRate));       // synthesis hop, 12 ms
        var frame = 2 * hop;                                              // 24 ms ≈ 3 periods of a 120 Hz voice
        var tolerance = Math.Max(2, (int)Math.Round(0.008 * sampleRate)); // ±8 ms covers a period down to 62 Hz

        // Zeros on both sides so every frame and its search range can be read without bounds checks.
        var pad = frame + tolerance;
        var padded = new float[x.Length + 2 * pad + (int)Math.Ceiling(frame / stretch) + hop];
        x.CopyTo(padded.AsSpan(pad));

        var window = new float[frame];
        for (var i = 0; i < frame; i++) window[i] = (float)(0.5 - 0.5 * Math.Cos(2 * Math.PI * i / frame));

        // Output frame k covers output samples [k·hop − hop, k·hop + hop), centred on k·hop.
        var y = new float[outLength + 2 * frame];
        var previous = -1;
        for (var k = 0; k * hop - hop < outLength; k++)
        {
            var nominal = pad + (int)Math.Round(k * hop / stretch) - hop; // input start whose centre maps to k·hop
            var start = nominal;
            if (previous >= 0)
            {
                // Natural continuation of the previous frame: where it would have gone on one hop later.
                // Normalised by the candidate's energy (kept as a running sum) so a louder candidate does not
                // win over a better-aligned one; the target's energy is common to all candidates.
                var target = padded.AsSpan(previous + hop, frame);
                var first = nominal - tolerance;
                double energy = TensorPrimitives.Dot(padded.AsSpan(first, frame), padded.AsSpan(first, frame));
                var best = double.NegativeInfinity;
                for (var d = -tolerance; d <= tolerance; d++)
                {
                    var at = nominal + d;
                    if (d > -tolerance)
                    {
                        double leaving = padded[at - 1], entering = padded[at + frame - 1];
                        energy = Math.Max(0, energy - leaving * leaving + entering * entering);
                    }
                    var c = TensorPrimitives.Dot(padded.AsSpan(at, frame), target) / Math.Sqrt(energy + 1e-12);
                    if (c > best) { best = c; start = at; }
                }
            }
            previous = start;
            var src = padded.AsSpan(start, frame);
            var dst = y.AsSpan(k * hop, frame); // y index = output index + hop
            for (var i = 0; i < frame; i++) dst[i] += window[i] * src[i];
        }
        return y.AsSpan(hop, outLength).ToArray();
    }
}
