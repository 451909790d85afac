namespace OnnxTransfer.Imaging;

/// <summary>
/// Filter weights for resizing one axis, as Pillow computes them for BILINEAR (ImagingResample's
/// precompute_coeffs): output pixel o samples around <c>center = in0 + (o + 0.5) * (in1 - in0) / out</c> with the
/// triangle filter stretched by <c>max((in1 - in0) / out, 1)</c>, weights normalized to sum 1. The source span
/// <c>[in0, in1)</c> is the whole axis for a plain resize, or a crop box (random resized crop).
/// </summary>
internal static class AxisWeights
{
    /// <summary>Largest number of source pixels one output pixel reads.</summary>
    public static int Taps(int inSize, int outSize) => Taps((double)inSize, outSize);

    /// <summary>Largest number of source pixels one output pixel reads when a span of <paramref name="span"/> source pixels is resized.</summary>
    public static int Taps(double span, int outSize) => (int)Math.Ceiling(Math.Max(span / outSize, 1.0)) * 2 + 1;

    /// <summary>
    /// Weights of output pixels <c>first .. first+count-1</c> of a resize from <paramref name="inSize"/> to
    /// <paramref name="outSize"/>. Output pixels outside <c>[0, outSize)</c> (crop padding) get no taps.
    /// </summary>
    public static void Compute(int inSize, int outSize, int first, int count, int taps, int[] start, int[] tapCount, float[] weights) =>
        Compute(0, inSize, 0, inSize, outSize, first, count, taps, start, tapCount, weights);

    /// <summary>
    /// Weights of output pixels <c>first .. first+count-1</c> of a resize of the source span <c>[in0, in1)</c> to
    /// <paramref name="outSize"/> pixels, reading only source pixels in <c>[lo, hi)</c>. Crop-then-resize (torchvision
    /// <c>resized_crop</c> on a PIL image) is <c>in0 = lo = left, in1 = hi = left + width</c>: the filter never reads
    /// outside the crop. Output pixels outside <c>[0, outSize)</c> (crop padding) get no taps.
    /// </summary>
    public static void Compute(double in0, double in1, int lo, int hi, int outSize, int first, int count, int taps, int[] start, int[] tapCount, float[] weights)
    {
        var scale = (in1 - in0) / outSize;
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
            var center = in0 + (o + 0.5) * scale;
            // Pillow truncates toward zero; below lo (>= 0) the clamp makes that the same as floor.
            var xmin = Math.Max((int)(center - support + 0.5), lo);
            var xmax = Math.Min((int)(center + support + 0.5), hi);
            var n = Math.Clamp(xmax - xmin, 0, taps);
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
