using System.Globalization;

namespace OnnxTransfer.Imaging;

/// <summary>How an image is resized to the network input.</summary>
public enum ResizeMode
{
    /// <summary>Resize the shorter side to <see cref="ImagePreprocessing.ResizeShorter"/>, then center-crop.</summary>
    ShorterSideThenCenterCrop,
    /// <summary>Resize straight to the input size (aspect ratio not kept).</summary>
    Direct,
}

/// <summary>Memory layout of the float tensor fed to the network.</summary>
public enum TensorLayout { Nchw, Nhwc }

/// <summary>
/// Everything needed to turn a decoded image into the backbone's input tensor. Its text form
/// (<see cref="ToString"/> / <see cref="Parse"/>) is what manifests, the CLI and model metadata carry, e.g.
/// <c>resize=256,crop=224x224,scale=0.00392157,mean=0.485/0.456/0.406,std=0.229/0.224/0.225,order=rgb,layout=nchw</c>.
/// Each channel becomes <c>(pixel * Scale - Mean[c]) / Std[c]</c>.
/// </summary>
public sealed record ImagePreprocessing(
    int Width,
    int Height,
    ResizeMode Resize,
    int ResizeShorter,
    float Scale,
    float[] Mean,
    float[] Std,
    bool Bgr,
    TensorLayout Layout)
{
    /// <summary>The ImageNet convention (torchvision): shorter side 256, crop 224, /255, ImageNet mean/std, RGB, NCHW.</summary>
    public static ImagePreprocessing ImageNet { get; } =
        new(224, 224, ResizeMode.ShorterSideThenCenterCrop, 256, 1f / 255f, [0.485f, 0.456f, 0.406f], [0.229f, 0.224f, 0.225f], false, TensorLayout.Nchw);

    /// <summary>
    /// Size of the image after resizing, before the center crop. Shorter-side mode follows torchvision
    /// <c>Resize(int)</c>: the shorter side becomes <see cref="ResizeShorter"/>, the longer side
    /// <c>floor(ResizeShorter * long / short)</c>. Direct mode gives <see cref="Width"/> x <see cref="Height"/>.
    /// </summary>
    public (int Width, int Height) ResizedSize(int imageWidth, int imageHeight)
    {
        if (Resize == ResizeMode.Direct)
            return (Width, Height);
        return imageWidth <= imageHeight
            ? (ResizeShorter, (int)Math.Min(int.MaxValue, (long)ResizeShorter * imageHeight / imageWidth))
            : ((int)Math.Min(int.MaxValue, (long)ResizeShorter * imageWidth / imageHeight), ResizeShorter);
    }

    /// <summary>The text form (round-trips through <see cref="Parse"/>).</summary>
    public override string ToString()
    {
        var c = CultureInfo.InvariantCulture;
        var resize = Resize == ResizeMode.Direct ? "direct" : ResizeShorter.ToString(c);
        return string.Join(',',
            $"resize={resize}",
            $"crop={Width}x{Height}",
            $"scale={Scale.ToString("R", c)}",
            $"mean={string.Join('/', Mean.Select(v => v.ToString("R", c)))}",
            $"std={string.Join('/', Std.Select(v => v.ToString("R", c)))}",
            $"order={(Bgr ? "bgr" : "rgb")}",
            $"layout={Layout.ToString().ToLowerInvariant()}");
    }

    /// <summary>Parses the text form; missing keys take the ImageNet defaults.</summary>
    public static ImagePreprocessing Parse(string text)
    {
        var p = ImageNet;
        var c = CultureInfo.InvariantCulture;
        foreach (var part in text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var kv = part.Split('=', 2, StringSplitOptions.TrimEntries);
            if (kv.Length != 2) throw Bad(text, part);
            var (key, value) = (kv[0].ToLowerInvariant(), kv[1]);
            try
            {
                p = key switch
                {
                    "resize" when value.Equals("direct", StringComparison.OrdinalIgnoreCase) => p with { Resize = ResizeMode.Direct },
                    "resize" => p with { Resize = ResizeMode.ShorterSideThenCenterCrop, ResizeShorter = int.Parse(value, c) },
                    "crop" or "size" => ParseSize(p, value),
                    "scale" => p with { Scale = ParseNumber(value) },
                    "mean" => p with { Mean = value.Split('/').Select(ParseNumber).ToArray() },
                    "std" => p with { Std = value.Split('/').Select(ParseNumber).ToArray() },
                    "order" => p with { Bgr = value.Equals("bgr", StringComparison.OrdinalIgnoreCase) },
                    "layout" => p with { Layout = Enum.Parse<TensorLayout>(value, ignoreCase: true) },
                    _ => throw Bad(text, part),
                };
            }
            catch (FormatException) { throw Bad(text, part); }
            catch (ArgumentException) { throw Bad(text, part); }
            catch (OverflowException) { throw Bad(text, part); }
        }
        if (p.Mean.Length != 3 || p.Std.Length != 3 || p.Std.Any(s => s == 0))
            throw new OnnxTransferException($"preprocessing '{text}': mean and std need 3 values each, std non-zero.");
        if (new[] { p.Width, p.Height, p.ResizeShorter }.Any(n => n is < 1 or > MaxSide))
            throw new OnnxTransferException($"preprocessing '{text}': resize and crop sizes must be 1 to {MaxSide} pixels.");
        if (!float.IsFinite(p.Scale) || p.Mean.Concat(p.Std).Any(v => !float.IsFinite(v)))
            throw new OnnxTransferException($"preprocessing '{text}': scale, mean and std must be finite numbers.");
        return p;
    }

    /// <summary>Largest resize or crop side accepted (a network input far beyond any real backbone's).</summary>
    public const int MaxSide = 8192;

    private static ImagePreprocessing ParseSize(ImagePreprocessing p, string value)
    {
        var wh = value.Split('x');
        var w = int.Parse(wh[0], CultureInfo.InvariantCulture);
        var h = wh.Length > 1 ? int.Parse(wh[1], CultureInfo.InvariantCulture) : w;
        return p with { Width = w, Height = h };
    }

    // Accepts "0.0039", "1/255".
    private static float ParseNumber(string s)
    {
        var parts = s.Split('/');
        return parts.Length == 2
            ? float.Parse(parts[0], CultureInfo.InvariantCulture) / float.Parse(parts[1], CultureInfo.InvariantCulture)
            : float.Parse(s, CultureInfo.InvariantCulture);
    }

    private static OnnxTransferException Bad(string text, string part) =>
        new($"preprocessing '{text}': cannot read '{part}'; expected e.g. resize=256,crop=224,scale=1/255,mean=0.485/0.456/0.406,std=0.229/0.224/0.225,order=rgb,layout=nchw.");

    /// <inheritdoc />
    public bool Equals(ImagePreprocessing? other) => other is not null && ToString() == other.ToString();

    /// <inheritdoc />
    public override int GetHashCode() => ToString().GetHashCode(StringComparison.Ordinal);
}
