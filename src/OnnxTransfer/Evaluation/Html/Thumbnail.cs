using SkiaSharp;

namespace OnnxTransfer.Evaluation.Html;

/// <summary>Small embedded previews of evaluated items, so a report file carries what it shows.</summary>
internal static class Thumbnail
{
    /// <summary>File extensions previewed as images.</summary>
    public static readonly IReadOnlySet<string> ImageExtensions =
        new HashSet<string>([".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp"], StringComparer.OrdinalIgnoreCase);

    /// <summary>
    /// The image at <paramref name="path"/> scaled to at most <paramref name="maxSide"/> pixels a side, as a
    /// <c>data:image/jpeg;base64,...</c> URI; null when it cannot be read (the report then shows the name only).
    /// </summary>
    public static string? ImageDataUri(string path, int maxSide = 112, int quality = 70)
    {
        try
        {
            using var codec = SKCodec.Create(path);
            if (codec is null) return null;
            // Decode at the codec's nearest smaller scale first: a 4000-px JPEG decodes at 1/8 size in a fraction of the time.
            var scale = Math.Min(1f, 2f * maxSide / Math.Max(codec.Info.Width, codec.Info.Height));
            var size = codec.GetScaledDimensions(scale);
            using var decoded = Decode(codec, size) ?? Decode(codec, codec.Info.Size);
            if (decoded is null) return null;
            size = new SKSizeI(decoded.Width, decoded.Height);
            var ratio = Math.Min(1.0, (double)maxSide / Math.Max(size.Width, size.Height));
            var (w, h) = (Math.Max(1, (int)Math.Round(size.Width * ratio)), Math.Max(1, (int)Math.Round(size.Height * ratio)));
            using var small = decoded.Resize(new SKImageInfo(w, h, SKColorType.Rgba8888, SKAlphaType.Premul), new SKSamplingOptions(SKCubicResampler.Mitchell));
            using var oriented = Orient(small, codec.EncodedOrigin);
            using var image = SKImage.FromBitmap(oriented);
            using var data = image.Encode(SKEncodedImageFormat.Jpeg, quality);
            return data is null ? null : "data:image/jpeg;base64," + Convert.ToBase64String(data.AsSpan());
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or InvalidOperationException)
        {
            return null;
        }
    }

    // Some codecs (progressive or CMYK JPEGs) cannot decode at every scale: null lets the caller retry at full size.
    private static SKBitmap? Decode(SKCodec codec, SKSizeI size)
    {
        var bitmap = new SKBitmap(new SKImageInfo(size.Width, size.Height, SKColorType.Rgba8888, SKAlphaType.Premul));
        if (codec.GetPixels(bitmap.Info, bitmap.GetPixels()) is SKCodecResult.Success or SKCodecResult.IncompleteInput) return bitmap;
        bitmap.Dispose();
        return null;
    }

    // Phone photos carry their rotation in EXIF; the preview must look like the photo does in a viewer.
    private static SKBitmap Orient(SKBitmap bitmap, SKEncodedOrigin origin)
    {
        var (degrees, swap) = origin switch
        {
            SKEncodedOrigin.BottomRight => (180, false),
            SKEncodedOrigin.RightTop => (90, true),
            SKEncodedOrigin.LeftBottom => (270, true),
            _ => (0, false),
        };
        var rotated = new SKBitmap(swap ? bitmap.Height : bitmap.Width, swap ? bitmap.Width : bitmap.Height);
        using var canvas = new SKCanvas(rotated);
        canvas.Translate(rotated.Width / 2f, rotated.Height / 2f);
        canvas.RotateDegrees(degrees);
        canvas.Translate(-bitmap.Width / 2f, -bitmap.Height / 2f);
        using var image = SKImage.FromBitmap(bitmap);
        canvas.DrawImage(image, 0, 0, new SKSamplingOptions(SKFilterMode.Nearest));
        return rotated;
    }
}
