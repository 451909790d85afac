using System.Buffers;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace OnnxTransfer.Imaging;

/// <summary>
/// Turns a <see cref="DecodedImage"/> into the network's float input per <see cref="ImagePreprocessing"/>:
/// resize (torchvision/PIL bilinear: a triangle filter widened by the downscale factor, so shrinking is
/// antialiased), center crop (offset <c>round((resized - crop) / 2)</c>, half to even as in Python; zero padding
/// when the crop is larger), then <c>(pixel * Scale - Mean[c]) / Std[c]</c> into NCHW or NHWC, RGB or BGR.
/// Only the cropped pixels are computed, in float without intermediate rounding. Thread-safe; scratch memory
/// comes from <see cref="ArrayPool{T}"/>.
/// </summary>
internal sealed class ImagePreprocessor
{
    private readonly float[] _gain = new float[3];
    private readonly float[] _bias = new float[3];
    private readonly int[] _sourceChannel = new int[3];

    /// <summary>Creates a preprocessor for <paramref name="preprocessing"/>.</summary>
    public ImagePreprocessor(ImagePreprocessing preprocessing)
    {
        Preprocessing = preprocessing ?? throw new ArgumentNullException(nameof(preprocessing));
        if (preprocessing.Width < 1 || preprocessing.Height < 1 || (preprocessing.Resize == ResizeMode.ShorterSideThenCenterCrop && preprocessing.ResizeShorter < 1))
            throw new OnnxTransferException($"preprocessing '{preprocessing}': sizes must be positive.");
        if (preprocessing.Mean.Length != 3 || preprocessing.Std.Length != 3 || preprocessing.Std.Any(s => s == 0))
            throw new OnnxTransferException($"preprocessing '{preprocessing}': mean and std need 3 values each, std non-zero.");
        for (var c = 0; c < 3; c++)
        {
            _gain[c] = preprocessing.Scale / preprocessing.Std[c];
            _bias[c] = -preprocessing.Mean[c] / preprocessing.Std[c];
            _sourceChannel[c] = preprocessing.Bgr ? 2 - c : c;
        }
        SampleShape = preprocessing.Layout == TensorLayout.Nchw
            ? [3, preprocessing.Height, preprocessing.Width]
            : [preprocessing.Height, preprocessing.Width, 3];
    }

    /// <summary>The preprocessing applied.</summary>
    public ImagePreprocessing Preprocessing { get; }

    /// <summary>Shape of one sample: [3,H,W] (NCHW) or [H,W,3] (NHWC).</summary>
    public IReadOnlyList<long> SampleShape { get; }

    /// <summary>Number of floats in one sample.</summary>
    public int SampleLength => 3 * Preprocessing.Width * Preprocessing.Height;

    /// <summary>Writes the preprocessed image into <paramref name="destination"/> (length <see cref="SampleLength"/>).</summary>
    public void Process(DecodedImage image, Span<float> destination)
    {
        ArgumentNullException.ThrowIfNull(image);
        var p = Preprocessing;
        CheckDestination(destination);
        // The resize is planned on the full-size image (as torchvision sees it), then applied to the pixels
        // actually decoded, which may be a DCT-scaled copy.
        var (resizedW, resizedH) = p.ResizedSize(image.OriginalWidth, image.OriginalHeight);
        var (left, top) = p.Resize == ResizeMode.Direct ? (0, 0) : (CropOffset(resizedW, p.Width), CropOffset(resizedH, p.Height));
        Resample(image, destination, new Axis(image.SpanX.Start, image.SpanX.End, 0, image.Width, resizedW, left),
            new Axis(image.SpanY.Start, image.SpanY.End, 0, image.Height, resizedH, top), flip: false);
    }

    /// <summary>
    /// Writes the training-time view of <paramref name="image"/> into <paramref name="destination"/>: the box
    /// <paramref name="crop"/> (in full-size display pixels, <see cref="DecodedImage.OriginalWidth"/> x
    /// <see cref="DecodedImage.OriginalHeight"/>) resized straight to the network size with the same bilinear filter,
    /// which reads only pixels inside the box (torchvision <c>RandomResizedCrop</c> on a PIL image: crop, then resize),
    /// mirrored left-right when <see cref="CropAndFlip.Flip"/>, then normalized like <see cref="Process(DecodedImage, Span{float})"/>.
    /// <see cref="Preprocessing"/>'s resize mode and shorter side are not used. On a DCT-scaled decode the box is scaled
    /// with the image (a fractional box, read within the pixels it touches).
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The box is empty or leaves the image.</exception>
    public void Process(DecodedImage image, CropAndFlip crop, Span<float> destination)
    {
        ArgumentNullException.ThrowIfNull(image);
        var p = Preprocessing;
        CheckDestination(destination);
        if (crop.Width < 1 || crop.Height < 1 || crop.Left < 0 || crop.Top < 0
            || crop.Left + crop.Width > image.OriginalWidth || crop.Top + crop.Height > image.OriginalHeight)
            throw new ArgumentOutOfRangeException(nameof(crop), $"{crop} is not inside the {image.OriginalWidth}x{image.OriginalHeight} image.");
        static Axis Box(int from, int size, int original, int decoded, (double Start, double End) span, int output)
        {
            var s = (span.End - span.Start) / original;
            double in0 = span.Start + from * s, in1 = span.Start + (from + size) * s;
            var lo = Math.Min((int)Math.Floor(in0), decoded - 1);
            var hi = Math.Clamp((int)Math.Ceiling(in1), lo + 1, decoded);
            return new Axis(in0, in1, lo, hi, output, 0);
        }
        Resample(image, destination, Box(crop.Left, crop.Width, image.OriginalWidth, image.Width, image.SpanX, p.Width),
            Box(crop.Top, crop.Height, image.OriginalHeight, image.Height, image.SpanY, p.Height), crop.Flip);
    }

    private void CheckDestination(Span<float> destination)
    {
        if (destination.Length != SampleLength)
            throw new ArgumentException($"destination holds {destination.Length} floats; {SampleLength} needed.", nameof(destination));
    }

    /// <summary>One axis of a resample: source span [In0, In1) read within [Lo, Hi), resized to Size, output pixels First.. kept.</summary>
    private readonly record struct Axis(double In0, double In1, int Lo, int Hi, int Size, int First);

    private void Resample(DecodedImage image, Span<float> destination, Axis h, Axis v, bool flip)
    {
        var p = Preprocessing;
        var hTaps = AxisWeights.Taps(h.In1 - h.In0, h.Size);
        var vTaps = AxisWeights.Taps(v.In1 - v.In0, v.Size);
        var hStart = ArrayPool<int>.Shared.Rent(p.Width);
        var hCount = ArrayPool<int>.Shared.Rent(p.Width);
        var hWeight = ArrayPool<float>.Shared.Rent(p.Width * hTaps);
        var vStart = ArrayPool<int>.Shared.Rent(p.Height);
        var vCount = ArrayPool<int>.Shared.Rent(p.Height);
        var vWeight = ArrayPool<float>.Shared.Rent(p.Height * vTaps);
        float[]? rows = null, row = null;
        try
        {
            AxisWeights.Compute(h.In0, h.In1, h.Lo, h.Hi, h.Size, h.First, p.Width, hTaps, hStart, hCount, hWeight);
            AxisWeights.Compute(v.In0, v.In1, v.Lo, v.Hi, v.Size, v.First, p.Height, vTaps, vStart, vCount, vWeight);
            if (flip) Mirror(p.Width, hTaps, hStart, hCount, hWeight);
            // Source rows the vertical filter reads: the horizontal pass runs on these only.
            int firstRow = int.MaxValue, endRow = 0;
            for (var i = 0; i < p.Height; i++)
                if (vCount[i] > 0)
                {
                    firstRow = Math.Min(firstRow, vStart[i]);
                    endRow = Math.Max(endRow, vStart[i] + vCount[i]);
                }
            if (firstRow == int.MaxValue) firstRow = endRow = 0;
            var rowFloats = p.Width * 4;
            rows = ArrayPool<float>.Shared.Rent(Math.Max(1, (endRow - firstRow) * rowFloats));
            row = ArrayPool<float>.Shared.Rent(rowFloats);
            HorizontalPass(image, firstRow, endRow, p.Width, hTaps, hStart, hCount, hWeight, rows);
            for (var y = 0; y < p.Height; y++)
            {
                VerticalPass(rows, rowFloats, vStart[y] - firstRow, vCount[y], vWeight.AsSpan(y * vTaps, vTaps), row.AsSpan(0, rowFloats));
                Store(row, y, destination);
            }
        }
        finally
        {
            ArrayPool<int>.Shared.Return(hStart);
            ArrayPool<int>.Shared.Return(hCount);
            ArrayPool<float>.Shared.Return(hWeight);
            ArrayPool<int>.Shared.Return(vStart);
            ArrayPool<int>.Shared.Return(vCount);
            ArrayPool<float>.Shared.Return(vWeight);
            if (rows is not null) ArrayPool<float>.Shared.Return(rows);
            if (row is not null) ArrayPool<float>.Shared.Return(row);
        }
    }

    // A horizontal flip after the resize is the resize with its output pixels in reverse order: swap their filters.
    private static void Mirror(int width, int taps, int[] start, int[] count, float[] weight)
    {
        for (int a = 0, b = width - 1; a < b; a++, b--)
        {
            (start[a], start[b]) = (start[b], start[a]);
            (count[a], count[b]) = (count[b], count[a]);
            for (var k = 0; k < taps; k++)
                (weight[a * taps + k], weight[b * taps + k]) = (weight[b * taps + k], weight[a * taps + k]);
        }
    }

    /// <summary>
    /// torchvision CenterCrop: <c>round((size - crop) / 2)</c> with Python's half-to-even rounding; when the crop
    /// is larger, the image is padded by <c>(crop - size) / 2</c> (floor) on the left/top first.
    /// </summary>
    internal static int CropOffset(int size, int crop) =>
        crop > size ? -((crop - size) / 2) : (int)Math.Round((size - crop) / 2.0, MidpointRounding.ToEven);

    // For every source row in [firstRow, endRow): filter horizontally into RGBA floats, one output pixel each.
    private static unsafe void HorizontalPass(DecodedImage image, int firstRow, int endRow, int outW, int taps,
        int[] start, int[] count, float[] weight, float[] rows)
    {
        var strideX = image.StrideX;
        fixed (byte* pixels = image.Pixels)
        fixed (float* dst0 = rows)
        fixed (float* w0 = weight)
        {
            for (var y = firstRow; y < endRow; y++)
            {
                var src = pixels + image.Offset + (long)y * image.StrideY;
                var dst = dst0 + (long)(y - firstRow) * outW * 4;
                for (var x = 0; x < outW; x++)
                {
                    var acc = Vector128<float>.Zero;
                    var p = src + (long)start[x] * strideX;
                    var w = w0 + x * taps;
                    for (int k = 0, n = count[x]; k < n; k++, p += strideX)
                        acc += Load(p) * w[k];
                    acc.Store(dst + x * 4);
                }
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe Vector128<float> Load(byte* p)
    {
        var bytes = Vector128.CreateScalarUnsafe(Unsafe.ReadUnaligned<uint>(p)).AsByte();
        return Vector128.ConvertToSingle(Vector128.WidenLower(Vector128.WidenLower(bytes)).AsInt32());
    }

    private static void VerticalPass(float[] rows, int rowFloats, int first, int count, ReadOnlySpan<float> weights, Span<float> output)
    {
        output.Clear();
        for (var k = 0; k < count; k++)
        {
            var w = new Vector<float>(weights[k]);
            var src = rows.AsSpan((first + k) * rowFloats, rowFloats);
            var i = 0;
            for (; i <= rowFloats - Vector<float>.Count; i += Vector<float>.Count)
                (new Vector<float>(src[i..]) * w + new Vector<float>(output[i..])).CopyTo(output[i..]);
            for (; i < rowFloats; i++)
                output[i] += src[i] * weights[k];
        }
    }

    // One output row of RGBA floats -> normalized channels in the tensor layout.
    private void Store(float[] row, int y, Span<float> destination)
    {
        var w = Preprocessing.Width;
        if (Preprocessing.Layout == TensorLayout.Nchw)
        {
            var plane = w * Preprocessing.Height;
            for (var c = 0; c < 3; c++)
            {
                var dst = destination.Slice(c * plane + y * w, w);
                float gain = _gain[c], bias = _bias[c];
                var s = _sourceChannel[c];
                for (var x = 0; x < w; x++)
                    dst[x] = row[x * 4 + s] * gain + bias;
            }
        }
        else
        {
            var dst = destination.Slice(y * w * 3, w * 3);
            for (var x = 0; x < w; x++)
                for (var c = 0; c < 3; c++)
                    dst[x * 3 + c] = row[x * 4 + _sourceChannel[c]] * _gain[c] + _bias[c];
        }
    }
}
