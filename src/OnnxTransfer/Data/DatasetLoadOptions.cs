namespace OnnxTransfer.Data;

/// <summary>Options for <see cref="DatasetLoader.Load"/>.</summary>
public sealed record DatasetLoadOptions
{
    /// <summary>Image file extensions: .jpg .jpeg .png .bmp .gif .webp.</summary>
    public static IReadOnlyList<string> ImageExtensions => Inference.InputFiles.ImageExtensions;

    /// <summary>Audio file extensions: .wav.</summary>
    public static IReadOnlyList<string> AudioExtensions => Inference.InputFiles.AudioExtensions;

    /// <summary>Accepted file extensions (with the dot, any case); other files are ignored and counted.</summary>
    public IReadOnlyList<string> Extensions { get; init; } = ImageExtensions;

    /// <summary>Forces a layout instead of detecting it (null = detect).</summary>
    public DatasetLayout? Layout { get; init; }

    /// <summary>
    /// Accept items that resolve outside the dataset's folder (a manifest path with <c>..</c> or an absolute path, or a
    /// symlink pointing out). Off by default: a manifest or folder received from someone else could otherwise make a
    /// job read (and store features of) any file the user can read. CLI: <c>--allow-outside-paths</c>.
    /// </summary>
    public bool AllowOutsidePaths { get; init; }

    internal bool Accepts(string path)
    {
        var ext = Path.GetExtension(path);
        foreach (var e in Extensions)
            if (string.Equals(e, ext, StringComparison.OrdinalIgnoreCase)) return true;
        return false;
    }
}
