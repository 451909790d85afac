using System.Buffers.Binary;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace OnnxTransfer.Imaging;

/// <summary>
/// Light image augmentation for fine-tuning (torchvision's train transform): a random crop covering
/// <see cref="MinScale"/>..<see cref="MaxScale"/> of the image's area with an aspect ratio in
/// <see cref="MinRatio"/>..<see cref="MaxRatio"/> (log-uniform), resized straight to the network size, and a
/// horizontal flip with probability <see cref="FlipProbability"/>. <see cref="Light"/> (the default) keeps at least
/// 35% of the area, lighter than torchvision's 8%, because small data and a pretrained backbone need the object
/// kept in view. Draws are stateless: the view of an item depends only on (seed, epoch, item id), so a resumed or
/// repeated run sees the same crops. Text form (<see cref="ToString"/> / <see cref="Parse"/>), e.g.
/// <c>scale=0.35:1,ratio=0.75:1.3333333333333333,flip=0.5</c>.
/// </summary>
public sealed record ImageAugmentation(double MinScale, double MaxScale, double MinRatio, double MaxRatio, double FlipProbability)
{
    /// <summary>Area 35–100%, aspect ratio 3/4–4/3, flip half the time.</summary>
    public static ImageAugmentation Light { get; } = new(0.35, 1.0, 3.0 / 4.0, 4.0 / 3.0, 0.5);

    /// <summary>
    /// Draws the view of a <paramref name="width"/> x <paramref name="height"/> image (full-size, as displayed) for
    /// (<paramref name="seed"/>, <paramref name="epoch"/>, <paramref name="id"/>), as torchvision's
    /// <c>RandomResizedCrop.get_params</c> does: up to 10 tries of area fraction and log-uniform aspect ratio until the
    /// rounded box fits, placed uniformly; else the center crop with the ratio clamped to the range. Then the flip.
    /// </summary>
    internal CropAndFlip Draw(int width, int height, ulong seed, int epoch, string id)
    {
        if (width < 1 || height < 1) throw new ArgumentOutOfRangeException(nameof(width), $"image size {width}x{height} must be positive.");
        Validate();
        var rng = new SeededRandom(StreamSeed(seed, epoch, id));
        double area = (double)width * height, logMin = Math.Log(MinRatio), logMax = Math.Log(MaxRatio);
        for (var attempt = 0; attempt < 10; attempt++)
        {
            var target = area * (MinScale + (MaxScale - MinScale) * rng.NextDouble());
            var ratio = Math.Exp(logMin + (logMax - logMin) * rng.NextDouble());
            var w = (int)Math.Round(Math.Sqrt(target * ratio), MidpointRounding.ToEven);
            var h = (int)Math.Round(Math.Sqrt(target / ratio), MidpointRounding.ToEven);
            if (w > 0 && w <= width && h > 0 && h <= height)
            {
                var top = rng.NextInt(height - h + 1);
                var left = rng.NextInt(width - w + 1);
                return new CropAndFlip(left, top, w, h, Flip(rng));
            }
        }
        var (cw, ch) = ((double)width / height) switch
        {
            var r when r < MinRatio => (width, Math.Max(1, (int)Math.Round(width / MinRatio, MidpointRounding.ToEven))),
            var r when r > MaxRatio => (Math.Max(1, (int)Math.Round(height * MaxRatio, MidpointRounding.ToEven)), height),
            _ => (width, height),
        };
        cw = Math.Min(cw, width);
        ch = Math.Min(ch, height);
        return new CropAndFlip((width - cw) / 2, (height - ch) / 2, cw, ch, Flip(rng));
    }

    private bool Flip(SeededRandom rng) => rng.NextDouble() < FlipProbability;

    // One independent stream per (seed, epoch, item): no shared generator state, so draws do not depend on the
    // order or the thread items are encoded in, nor on earlier epochs.
    private static ulong StreamSeed(ulong seed, int epoch, string id)
    {
        var hash = SHA256.HashData(Encoding.UTF8.GetBytes(string.Create(CultureInfo.InvariantCulture, $"{seed}\n{epoch}\n{id}")));
        return BinaryPrimitives.ReadUInt64LittleEndian(hash);
    }

    /// <summary>
    /// The smallest crop side as a fraction of the image's shorter side: a box of area fraction
    /// <see cref="MinScale"/> and the most extreme ratio. Decoding can shrink an image (JPEG DCT scaling) only while
    /// such a crop still has more pixels than the network input.
    /// </summary>
    public double SmallestSideFraction => Math.Sqrt(MinScale * Math.Min(MinRatio, 1 / MaxRatio));

    /// <summary>Checks the ranges.</summary>
    /// <exception cref="OnnxTransferException">A range is empty or out of bounds.</exception>
    public void Validate()
    {
        if (!(MinScale > 0 && MinScale <= MaxScale && MaxScale <= 1))
            throw new OnnxTransferException($"augmentation '{this}': the crop's area fraction needs 0 < min <= max <= 1 (e.g. scale=0.35:1).");
        if (!(MinRatio > 0 && MinRatio <= MaxRatio && double.IsFinite(MaxRatio)))
            throw new OnnxTransferException($"augmentation '{this}': the aspect-ratio range needs 0 < min <= max (e.g. ratio=3/4:4/3).");
        if (!(FlipProbability >= 0 && FlipProbability <= 1))
            throw new OnnxTransferException($"augmentation '{this}': the flip probability must be in [0, 1] (e.g. flip=0.5).");
    }

    /// <summary>The text form (round-trips through <see cref="Parse"/>).</summary>
    public override string ToString()
    {
        var c = CultureInfo.InvariantCulture;
        return $"scale={MinScale.ToString("R", c)}:{MaxScale.ToString("R", c)},ratio={MinRatio.ToString("R", c)}:{MaxRatio.ToString("R", c)},flip={FlipProbability.ToString("R", c)}";
    }

    /// <summary>
    /// Parses the text form: <c>light</c> (or empty) is <see cref="Light"/>; otherwise keys <c>scale=MIN:MAX</c>,
    /// <c>ratio=MIN:MAX</c> (fractions allowed: 3/4:4/3), <c>flip=P</c>, missing keys from <see cref="Light"/>.
    /// </summary>
    /// <exception cref="OnnxTransferException">Unreadable text or bad ranges.</exception>
    public static ImageAugmentation Parse(string text)
    {
        var a = Light;
        if (text.Trim().Equals("light", StringComparison.OrdinalIgnoreCase)) return a;
        foreach (var part in text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var kv = part.Split('=', 2, StringSplitOptions.TrimEntries);
            if (kv.Length != 2) throw Bad(text, part);
            try
            {
                a = kv[0].ToLowerInvariant() switch
                {
                    "scale" => Range(kv[1]) is var (lo, hi) ? a with { MinScale = lo, MaxScale = hi } : a,
                    "ratio" => Range(kv[1]) is var (lo, hi) ? a with { MinRatio = lo, MaxRatio = hi } : a,
                    "flip" => a with { FlipProbability = Number(kv[1]) },
                    _ => throw Bad(text, part),
                };
            }
            catch (FormatException) { throw Bad(text, part); }
            catch (OverflowException) { throw Bad(text, part); }
        }
        a.Validate();
        return a;
    }

    private static (double, double) Range(string s)
    {
        var ends = s.Split(':', StringSplitOptions.TrimEntries);
        return ends.Length == 2 ? (Number(ends[0]), Number(ends[1])) : throw new FormatException();
    }

    // Accepts "0.75" and "3/4".
    private static double Number(string s)
    {
        var parts = s.Split('/');
        return parts.Length switch
        {
            1 => double.Parse(s, NumberStyles.Float, CultureInfo.InvariantCulture),
            2 => double.Parse(parts[0], NumberStyles.Float, CultureInfo.InvariantCulture) / double.Parse(parts[1], NumberStyles.Float, CultureInfo.InvariantCulture),
            _ => throw new FormatException(),
        };
    }

    private static OnnxTransferException Bad(string text, string part) =>
        new($"augmentation '{text}': cannot read '{part}'; expected 'light' or e.g. scale=0.35:1,ratio=3/4:4/3,flip=0.5.");
}
