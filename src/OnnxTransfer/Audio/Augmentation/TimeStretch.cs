using System.Numerics.Tensors;

namespace OnnxTransfer.Audio.Augmentation;

/// <summary>
/// Waveform-similarity overlap-add (WSOLA, Verhelst &amp; Roelands 1993): changes duration while keeping pitch
/// and formants. Frames of 24 ms (50 % overlapped Hann, which sums to exactly 1) are laid at a fixed
/// synthesis hop; each is read from the input near its nominal time, shifted by up to ±8 ms to the position
/// whose waveform best continues the previous frame, so periods line up and there is no phasiness.
/// </summary>
/// <remarks>
/// Written here rather than using <c>NWaves.Operations.Tsm.Wsola</c> because that one (as its source reads) stops a window plus the
/// search range (~100 ms) before the end of the input (the tail of a keyword would be lost), rounds the
/// synthesis hop down (stretch off by up to 1/hop) and reads the first continuation from a negative offset.
/// Here the analysis positions are fractional (rounded per frame), so the stretch is exact on average and the
/// output has exactly round(N·stretch) samples.
/// </remarks>
internal static class TimeStretch
{
    // Among near-equal matches (a steady vowel matches every period) prefer the one nearest the nominal
    // position, so timing jitters less and onsets/offsets stay where the stretch puts them.
    private const double ShiftPenalty = 0.01;

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

        var squared = new float[padded.Length];
        TensorPrimitives.Multiply(padded, padded, squared);
        var weightedTarget = new float[frame];

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
                // Natural continuation of the previous frame: where it would have gone on one hop later. The
                // candidate closest to it in Hann-weighted squared error wins: max 2·Σw·c·t − Σw·c². Plain
                // correlation (max dot) pulls frames towards loud material (bursts came out ~1.5 % long);
                // normalised correlation pulls towards silence (~1.5 % short); unweighted energy ripples with
                // the phase of a low tone and costs sub-sample alignment. Coarse search on even shifts, then ±1.
                TensorPrimitives.Multiply(padded.AsSpan(previous + hop, frame), window, weightedTarget);
                var best = double.NegativeInfinity;
                for (var d = -tolerance; d <= tolerance; d += 2) Consider(d);
                var coarse = start - nominal;
                Consider(coarse - 1);
                Consider(coarse + 1);

                void Consider(int d)
                {
                    if (d < -tolerance || d > tolerance) return;
                    var at = nominal + d;
                    double c = 2.0 * TensorPrimitives.Dot(padded.AsSpan(at, frame), weightedTarget)
                               - TensorPrimitives.Dot(squared.AsSpan(at, frame), window);
                    c -= ShiftPenalty * Math.Abs(d) / tolerance * Math.Abs(c);
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
