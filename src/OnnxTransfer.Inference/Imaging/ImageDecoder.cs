using System.Buffers;
using SkiaSharp;

namespace OnnxTransfer.Imaging;

/// <summary>
/// Decodes JPEG, PNG (8/16-bit, grey, palette, alpha), BMP, GIF (first frame) and WebP with SkiaSharp into a
/// <see cref="DecodedImage"/>: RGB (grey replicated), alpha composited on white, EXIF orientation applied.
/// The header is read first: images that would decode to more than <see cref="MaxPixels"/> are refused before any
/// pixel memory is allocated, and the pixels come from <see cref="PixelMemory"/>, whose budget bounds how many
/// large images are decoded at once. JPEGs much larger than needed are decoded at a reduced scale (libjpeg DCT
/// scaling, n/8), which is what counts against the limit.
/// Thread-safe; every failure is an <see cref="ImageDecodeException"/> naming the file and the reason.
/// </summary>
internal sealed class ImageDecoder
{
    /// <summary>Default pixel limit: 64 megapixels (256 MB of RGBA; a 48 MP photo fits, a 10,000 x 10,000 PNG does not).</summary>
    public const long DefaultMaxPixels = 64_000_000;

    /// <summary>
    /// Images that would decode to more pixels than this are refused (decompression bombs, mistakes); the CLI's
    /// <c>--max-pixels</c> sets it.
    /// </summary>
    public long MaxPixels { get; init; } = DefaultMaxPixels;

    /// <summary>
    /// A JPEG is decoded at 1/2, 1/4 or 1/8 scale only while it stays this many times larger than its resized size
    /// (see <see cref="ImagePreprocessing.ResizedSize"/>), so the preprocessor's antialiased filter still does a
    /// real downscale. Default 1.25: a 12 MP photo of any usual aspect (4:3, 3:2, 16:9) decodes at 1/8 for a 256-pixel
    /// shorter side, a third less CPU than at 1/4 (Huffman decoding is the rest). Against a full decode + torchvision
    /// resize, on photos upscaled to 12 MP: mean 0.3-0.5 grey levels, up to ~12 at edges (5K wallpapers: mean up to
    /// 0.8, up to ~33 at synthetic sharp edges); at 2 it was 0.1-0.3 mean. Use <see cref="double.PositiveInfinity"/>
    /// to always decode at full size.
    /// </summary>
    public double ScaledDecodeMargin { get; init; } = 1.25;

    /// <summary>Decodes a file.</summary>
    /// <param name="path">The image file.</param>
    /// <param name="target">The preprocessing the image is decoded for: a JPEG larger than its resized size is
    /// decoded at a reduced scale. Null decodes at full size.</param>
    public DecodedImage Decode(string path, ImagePreprocessing? target = null)
    {
        if (InputFile.Problem(path) is { } problem)
            throw new ImageDecodeException(path, problem);
        using var codec = SKCodec.Create(path, out var result);
        return Decode(codec, result, path, target);
    }

    /// <summary>Decodes encoded image bytes; <paramref name="name"/> is used in error messages.</summary>
    public DecodedImage Decode(ReadOnlySpan<byte> encoded, string name = "image", ImagePreprocessing? target = null)
    {
        if (encoded.IsEmpty)
            throw new ImageDecodeException(name, "empty data (0 bytes).");
        using var data = SKData.CreateCopy(encoded);
        using var codec = SKCodec.Create(data);
        return Decode(codec, codec is null ? SKCodecResult.Unimplemented : SKCodecResult.Success, name, target);
    }

    /// <summary>Decodes an encoded image read from <paramref name="stream"/> (to its end).</summary>
    public DecodedImage Decode(Stream stream, string name = "image", ImagePreprocessing? target = null)
    {
        using var buffer = new MemoryStream();
        stream.CopyTo(buffer);
        return Decode(buffer.GetBuffer().AsSpan(0, (int)buffer.Length), name, target);
    }

    /// <summary>Takes the pixels of a bitmap (any colour type SkiaSharp can convert), compositing alpha on white.</summary>
    public DecodedImage FromBitmap(SKBitmap bitmap, string name = "bitmap")
    {
        ArgumentNullException.ThrowIfNull(bitmap);
        if (bitmap.Width <= 0 || bitmap.Height <= 0)
            throw new ImageDecodeException(name, "bitmap has no pixels.");
        CheckPixelLimit(name, bitmap.Width, bitmap.Height);
        var info = new SKImageInfo(bitmap.Width, bitmap.Height, SKColorType.Rgba8888, SKAlphaType.Premul);
        var pixels = PixelMemory.Rent(info.BytesSize);
        try
        {
            unsafe
            {
                using var source = bitmap.PeekPixels();
                fixed (byte* p = pixels)
                    if (source is null || !source.ReadPixels(info, (IntPtr)p, info.RowBytes, 0, 0))
                        throw new ImageDecodeException(name, $"cannot convert a {bitmap.ColorType} bitmap to RGBA.");
            }
            CompositeOnWhite(pixels.AsSpan(0, info.BytesSize));
            return new DecodedImage(pixels, info.BytesSize, bitmap.Width, bitmap.Height, SKEncodedOrigin.TopLeft, bitmap.Width, bitmap.Height);
        }
        catch
        {
            PixelMemory.Return(pixels, info.BytesSize);
            throw;
        }
    }

    private DecodedImage Decode(SKCodec? codec, SKCodecResult createResult, string name, ImagePreprocessing? target)
    {
        if (codec is null)
            throw new ImageDecodeException(name, createResult == SKCodecResult.IncompleteInput
                ? "not a recognised image (JPEG, PNG, BMP, GIF, WebP) or cut off in its header; check the file."
                : "not a recognised image format (JPEG, PNG, BMP, GIF, WebP); check the file.");
        var full = codec.Info;
        if (full.Width <= 0 || full.Height <= 0)
            throw new ImageDecodeException(name, $"invalid image size {full.Width}x{full.Height}; re-export the image or remove it.");
        var origin = codec.EncodedOrigin;
        if (origin is < SKEncodedOrigin.TopLeft or > SKEncodedOrigin.LeftBottom) origin = SKEncodedOrigin.TopLeft;
        var transposed = origin >= SKEncodedOrigin.LeftTop;
        var size = full.Size;
        if (target is not null)
        {
            var (minW, minH) = transposed
                ? Swap(target.ResizedSize(full.Height, full.Width))
                : target.ResizedSize(full.Width, full.Height);
            size = ScaledSize(codec, minW, minH);
        }
        CheckPixelLimit(name, size.Width, size.Height);

        var opaque = full.AlphaType == SKAlphaType.Opaque;
        var info = new SKImageInfo(size.Width, size.Height, SKColorType.Rgba8888, opaque ? SKAlphaType.Opaque : SKAlphaType.Premul);
        var pixels = PixelMemory.Rent(info.BytesSize);
        try
        {
            SKCodecResult result;
            unsafe
            {
                fixed (byte* p = pixels)
                    result = codec.GetPixels(info, (IntPtr)p, info.RowBytes, new SKCodecOptions(0));
            }
            if (result != SKCodecResult.Success)
                throw new ImageDecodeException(name, result switch
                {
                    SKCodecResult.IncompleteInput => "truncated image data (the file is cut off); re-download or re-export it.",
                    SKCodecResult.ErrorInInput or SKCodecResult.InvalidInput => "corrupt image data; re-export the image or remove it.",
                    _ => $"cannot decode this {codec.EncodedFormat} image ({result}).",
                });
            if (!opaque)
                CompositeOnWhite(pixels.AsSpan(0, info.BytesSize));
            return new DecodedImage(pixels, info.BytesSize, size.Width, size.Height, origin, full.Width, full.Height);
        }
        catch
        {
            PixelMemory.Return(pixels, info.BytesSize);
            throw;
        }
    }

    private static (int, int) Swap((int A, int B) v) => (v.B, v.A);

    private void CheckPixelLimit(string name, int width, int height)
    {
        if (width <= 0 || height <= 0)
            throw new ImageDecodeException(name, $"invalid image size {width}x{height}.");
        // Beyond ~500 MP the RGBA buffer would not fit one array, whatever the configured limit.
        if ((long)width * height > MaxPixels || (long)width * height * 4 > Array.MaxLength)
            throw new ImageDecodeException(name,
                $"image is {width}x{height} ({(long)width * height / 1e6:0.#} MP), over the {Math.Min(MaxPixels, Array.MaxLength / 4) / 1e6:0.#} MP limit; downscale it, or raise the limit (--max-pixels) if the machine has the memory.");
    }

    // The smallest scale the codec offers (JPEG only) that keeps the stored image at least
    // minW x minH times the margin, so the preprocessor still only shrinks. Other formats decode at full size.
    private SKSizeI ScaledSize(SKCodec codec, int minW, int minH)
    {
        var full = codec.Info.Size;
        if (codec.EncodedFormat != SKEncodedImageFormat.Jpeg || minW <= 0 || minH <= 0)
            return full;
        var needW = minW * ScaledDecodeMargin;
        var needH = minH * ScaledDecodeMargin;
        // Only the power-of-two scales: libjpeg's 3/8, 5/8, ... scaled IDCTs measured visibly worse.
        foreach (var scale in (ReadOnlySpan<float>)[0.125f, 0.25f, 0.5f])
        {
            var size = codec.GetScaledDimensions(scale);
            if (size.Width >= needW && size.Height >= needH)
                return size;
        }
        return full;
    }

    // Premultiplied RGBA over white: c' = c*a/255 + 255*(1 - a/255) = premultiplied c + (255 - a).
    private static void CompositeOnWhite(Span<byte> rgba)
    {
        for (var i = 0; i < rgba.Length; i += 4)
        {
            var a = rgba[i + 3];
            if (a == 255) continue;
            var add = (byte)(255 - a);
            rgba[i] += add;
            rgba[i + 1] += add;
            rgba[i + 2] += add;
            rgba[i + 3] = 255;
        }
    }
}
