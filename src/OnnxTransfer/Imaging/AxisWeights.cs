namespace OnnxTransfer.Imaging;

/// <summary>
/// Filter weights for resizing one axis, as Pillow computes them for BILINEAR (ImagingResample's
/// precompute_coeffs): output pixel o samples around <c>center = (o + 0.5) * in / out</c> with the triangle
/// filter stretched by <c>max(in / out, 1)</c>, weights normalized to sum 1.
/// </summary>
internal static class AxisWeights
{
    /// <summary>Largest number of source pixels one output pixel reads.</summary>
    public static int Taps(int inSize, int outSize) => (int)Math.Ceiling(Math.Max((double)inSize / outSize, 1.0)) * 2 + 1;

    /// <summary>
    /// Weights of output pixels <c>first .. first+count-1</c> of a resize from <paramref name="inSize"/> to
    /// <paramref name="outSize"/>. Output pixels outside <c>[0, outSize)</c> (crop padding) get no taps.
    /// </summary>
    public static void Compute(int inSize, int outSize, int first, int count, int taps, int[] start, int[] tapCount, float[] weights)
    {
        var scale = (double)inSize / outSize;
        var filterScale = Math.Max(scale, 1.0);
        var support = filterScale;
        for (var i = 0; i < count; i++)
        {
            var o = first + i;
            var w = weights.AsSpan(i * taps, taps);
            w.Clear();
            if (o < 0 || o >= outSize)
            {
                start[i] = 0;
                tapCount[i] = 0;
                continue;
            }
            var center = (o + 0.5) * scale;
            var xmin = Math.Max((int)(center - support + 0.5), 0);
            var xmax = Math.Min((int)(center + support + 0.5), inSize);
            var n = Math.Min(xmax - xmin, taps);
            double sum = 0;
            for (var x = 0; x < n; x++)
            {
                var t = Math.Abs((x + xmin - center + 0.5) / filterScale);
                sum += t < 1 ? 1 - t : 0;
            }
            for (var x = 0; x < n; x++)
            {
                var t = Math.Abs((x + xmin - center + 0.5) / filterScale);
                w[x] = sum != 0 ? (float)((t < 1 ? 1 - t : 0) / sum) : 0f;
            }
            start[i] = xmin;
            tapCount[i] = n;
        }
    }
}
