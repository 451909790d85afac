using SkiaSharp;

namespace OnnxTransfer.Benchmarks;

/// <summary>Settings of <see cref="PhotoSet.Make"/>.</summary>
public sealed record PhotoSetOptions
{
    /// <summary>Images to write (sources picked evenly over the sorted listing; reused with other noise when fewer).</summary>
    public int Count { get; init; } = 120;

    /// <summary>Target size in megapixels (aspect kept); ignored when <see cref="LongSide"/> is set.</summary>
    public double Megapixels { get; init; } = 12;

    /// <summary>Target longer side in pixels (aspect kept), or null to use <see cref="Megapixels"/>.</summary>
    public int? LongSide { get; init; }

    /// <summary>Uniform noise added to every channel, ± this many levels: camera-like texture, so the JPEGs are not smooth upscales.</summary>
    public int Noise { get; init; } = 6;

    /// <summary>JPEG quality.</summary>
    public int Quality { get; init; } = 90;
}

/// <summary>
/// Makes a multi-megapixel JPEG benchmark set from a small image dataset: each picked image upscaled (bilinear) to
/// the target size, with noise, re-encoded; the class folders are kept. Files already there are kept (the set is
/// made once and reused); the choice of images and the noise are deterministic.
/// </summary>
public static class PhotoSet
{
    private static readonly string[] Extensions = [".jpg", ".jpeg", ".png"];

    /// <summary>Writes the set from <paramref name="source"/> into <paramref name="target"/>; returns the files in it.</summary>
    public static IReadOnlyList<string> Make(string source, string target, PhotoSetOptions? options = null, IProgress<ProgressUpdate>? progress = null,
        CancellationToken ct = default)
    {
        options ??= new PhotoSetOptions();
        if (!Directory.Exists(source)) throw new OnnxTransferException($"{source}: no such folder; give an image dataset folder.");
        var files = Directory.EnumerateFiles(source, "*", SearchOption.AllDirectories)
            .Where(f => Extensions.Contains(Path.GetExtension(f).ToLowerInvariant()))
            .Order(StringComparer.Ordinal).ToArray();
        if (files.Length == 0) throw new OnnxTransferException($"{source}: no JPEG or PNG images.");
        if (options.Count < 1) throw new OnnxTransferException($"photo set: count {options.Count} must be at least 1.");
        var jobs = Enumerable.Range(0, options.Count).Select(k =>
        {
            var from = files[(int)((long)k * files.Length / options.Count % files.Length)];
            var round = (long)k * files.Length / options.Count / files.Length;
            var relative = Path.ChangeExtension(Path.GetRelativePath(source, from), null) + (round > 0 ? $"-{round}" : "") + ".jpg";
            return (From: from, To: Path.Combine(target, relative), Seed: k);
        }).ToArray();
        var done = 0;
        Parallel.ForEach(jobs, new ParallelOptions { CancellationToken = ct, MaxDegreeOfParallelism = Environment.ProcessorCount }, job =>
        {
            if (!File.Exists(job.To)) Upscale(job.From, job.To, job.Seed, options);
            progress?.Report(new ProgressUpdate("photos", Interlocked.Increment(ref done), jobs.Length, "images"));
        });
        return jobs.Select(j => j.To).ToArray();
    }

    private static void Upscale(string from, string to, int seed, PhotoSetOptions options)
    {
        using var original = SKBitmap.Decode(from) ?? throw new OnnxTransferException($"{from}: cannot decode it; remove it from the source folder.");
        var scale = options.LongSide is { } side
            ? (double)side / Math.Max(original.Width, original.Height)
            : Math.Sqrt(options.Megapixels * 1e6 / ((double)original.Width * original.Height));
        var info = new SKImageInfo(Math.Max(1, (int)Math.Round(original.Width * scale)), Math.Max(1, (int)Math.Round(original.Height * scale)),
            SKColorType.Rgba8888, SKAlphaType.Opaque);
        using var large = original.Resize(info, new SKSamplingOptions(SKFilterMode.Linear, SKMipmapMode.None))
            ?? throw new OnnxTransferException($"{from}: cannot resize it to {info.Width}x{info.Height}.");
        AddNoise(large.GetPixelSpan(), options.Noise, seed);
        using var image = SKImage.FromBitmap(large);
        using var jpeg = image.Encode(SKEncodedImageFormat.Jpeg, options.Quality);
        Directory.CreateDirectory(Path.GetDirectoryName(to)!);
        AtomicFile.Write(to, stream => jpeg.SaveTo(stream));
    }

    private static void AddNoise(Span<byte> rgba, int noise, int seed)
    {
        if (noise <= 0) return;
        var random = new Random(seed);
        for (var i = 0; i < rgba.Length; i++)
        {
            if ((i & 3) == 3) continue; // alpha
            rgba[i] = (byte)Math.Clamp(rgba[i] + random.Next(-noise, noise + 1), 0, 255);
        }
    }
}
