using SkiaSharp;

namespace OnnxTransfer.Imaging;

/// <summary>
/// A decoded, opaque RGBA8888 image in a pooled buffer (alpha already composited on white), seen in display
/// orientation: the EXIF orientation is applied through the pixel addressing, not by copying pixels.
/// Dispose it to return the buffer to the pool.
/// </summary>
internal sealed class DecodedImage : IDisposable
{
    private byte[]? _pixels;
    private readonly int _bytes;

    // pixels: a buffer from PixelMemory of `bytes` requested bytes, owned by the image from here on.
    internal DecodedImage(byte[] pixels, int bytes, int storedWidth, int storedHeight, SKEncodedOrigin origin, int originalWidth, int originalHeight)
    {
        _pixels = pixels;
        _bytes = bytes;
        StoredWidth = storedWidth;
        StoredHeight = storedHeight;
        Origin = origin;
        var transposed = (int)origin >= (int)SKEncodedOrigin.LeftTop;
        (Width, Height) = transposed ? (storedHeight, storedWidth) : (storedWidth, storedHeight);
        (OriginalWidth, OriginalHeight) = transposed ? (originalHeight, originalWidth) : (originalWidth, originalHeight);
        (Offset, StrideX, StrideY) = Addressing(origin, storedWidth, storedHeight);
        var (coveredW, coveredH) = (Covered(storedWidth, originalWidth), Covered(storedHeight, originalHeight));
        (var spanW, var spanH) = transposed ? (coveredH, coveredW) : (coveredW, coveredH);
        SpanX = StrideX < 0 ? (Width - spanW, Width) : (0, spanW);
        SpanY = StrideY < 0 ? (Height - spanH, Height) : (0, spanH);
    }

    /// <summary>
    /// The span of displayed pixels (fractional) that the full-size image's width covers at the decoded scale. A JPEG
    /// decoded at 1/n stores ceil(width/n) pixels, the last one from a partial block: the full width covers only
    /// width/n of them, from the stored left edge (which a mirroring orientation puts on the right).
    /// </summary>
    internal (double Start, double End) SpanX { get; }

    /// <summary>The same as <see cref="SpanX"/> for the height.</summary>
    internal (double Start, double End) SpanY { get; }

    // Pixels of the stored axis the full-size axis covers: original/n when the codec stored ceil(original/n) (DCT scaling
    // by 1/n, n a power of two), else all of them.
    private static double Covered(int stored, int original)
    {
        if (stored >= original) return stored;
        var n = (int)Math.Round((double)original / stored);
        return n > 1 && (n & (n - 1)) == 0 && (original + n - 1) / n == stored ? (double)original / n : stored;
    }

    /// <summary>Width as displayed (after orientation), at the decoded scale.</summary>
    public int Width { get; }

    /// <summary>Height as displayed (after orientation), at the decoded scale.</summary>
    public int Height { get; }

    /// <summary>Displayed width of the full-size image (the codec may have decoded it smaller).</summary>
    public int OriginalWidth { get; }

    /// <summary>Displayed height of the full-size image.</summary>
    public int OriginalHeight { get; }

    /// <summary>The EXIF orientation that was applied.</summary>
    public SKEncodedOrigin Origin { get; }

    internal int StoredWidth { get; }
    internal int StoredHeight { get; }

    /// <summary>Byte offset of displayed pixel (0,0) in <see cref="Pixels"/>.</summary>
    internal int Offset { get; }

    /// <summary>Bytes from displayed pixel (x,y) to (x+1,y); negative when mirrored.</summary>
    internal int StrideX { get; }

    /// <summary>Bytes from displayed pixel (x,y) to (x,y+1).</summary>
    internal int StrideY { get; }

    /// <summary>The stored RGBA rows (StoredWidth*4 bytes each); only the first StoredWidth*StoredHeight*4 bytes are the image.</summary>
    internal byte[] Pixels => _pixels ?? throw new ObjectDisposedException(nameof(DecodedImage));

    /// <summary>The displayed pixel at (x, y).</summary>
    public SKColor GetPixel(int x, int y)
    {
        if ((uint)x >= (uint)Width || (uint)y >= (uint)Height)
            throw new ArgumentOutOfRangeException(nameof(x), $"({x},{y}) outside {Width}x{Height}");
        var i = Offset + x * StrideX + y * StrideY;
        var p = Pixels;
        return new SKColor(p[i], p[i + 1], p[i + 2], p[i + 3]);
    }

    /// <summary>A new bitmap (RGBA8888, opaque) holding the image as displayed.</summary>
    public SKBitmap ToBitmap()
    {
        var bitmap = new SKBitmap(new SKImageInfo(Width, Height, SKColorType.Rgba8888, SKAlphaType.Opaque));
        var dst = bitmap.GetPixelSpan();
        var src = Pixels;
        for (var y = 0; y < Height; y++)
            for (var x = 0; x < Width; x++)
            {
                var s = Offset + x * StrideX + y * StrideY;
                var d = (y * Width + x) * 4;
                dst[d] = src[s]; dst[d + 1] = src[s + 1]; dst[d + 2] = src[s + 2]; dst[d + 3] = 255;
            }
        return bitmap;
    }

    /// <summary>Returns the pixel buffer (and its share of <see cref="PixelMemory.Budget"/>).</summary>
    public void Dispose()
    {
        var p = Interlocked.Exchange(ref _pixels, null);
        if (p is not null) PixelMemory.Return(p, _bytes);
    }

    // Where displayed pixel (x,y) lives in the stored rows, for each EXIF orientation.
    private static (int Offset, int StrideX, int StrideY) Addressing(SKEncodedOrigin origin, int w, int h)
    {
        var row = w * 4;
        return origin switch
        {
            SKEncodedOrigin.TopRight => ((w - 1) * 4, -4, row),                 // 2: mirrored horizontally
            SKEncodedOrigin.BottomRight => ((h - 1) * row + (w - 1) * 4, -4, -row), // 3: rotated 180
            SKEncodedOrigin.BottomLeft => ((h - 1) * row, 4, -row),             // 4: mirrored vertically
            SKEncodedOrigin.LeftTop => (0, row, 4),                              // 5: transposed
            SKEncodedOrigin.RightTop => ((h - 1) * row, -row, 4),                // 6: rotate 90 clockwise to display
            SKEncodedOrigin.RightBottom => ((h - 1) * row + (w - 1) * 4, -row, -4), // 7: transverse
            SKEncodedOrigin.LeftBottom => ((w - 1) * 4, row, -4),                // 8: rotate 90 counter-clockwise
            _ => (0, 4, row),                                                    // 1: as stored
        };
    }
}
