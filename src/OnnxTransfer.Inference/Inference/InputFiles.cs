namespace OnnxTransfer.Inference;

/// <summary>One entry of an expanded input list: a file to predict, or a path that yielded none and why.</summary>
/// <param name="Path">The file (or the unusable path as given).</param>
/// <param name="Error">Why there is nothing to predict here (one line naming the path), or null for a file.</param>
public sealed record InputFile(string Path, string? Error = null);

/// <summary>Turns command-line style paths (files and folders) into the files to predict (images, or audio for speech models).</summary>
public static class InputFiles
{
    /// <summary>Image file extensions: .jpg .jpeg .png .bmp .gif .webp.</summary>
    public static IReadOnlyList<string> ImageExtensions { get; } = [".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp"];

    /// <summary>Audio file extensions: .wav.</summary>
    public static IReadOnlyList<string> AudioExtensions { get; } = [".wav"];

    /// <summary>
    /// Files are taken as given (whatever their extension: a wrong one is reported when decoding fails); folders are
    /// searched recursively for <paramref name="extensions"/> (default: <see cref="ImageExtensions"/>),
    /// in ordinal path order, hidden entries skipped. A missing path, or a folder without images, becomes an entry
    /// with an <see cref="InputFile.Error"/>, so one bad argument does not stop the others.
    /// </summary>
    public static IReadOnlyList<InputFile> Expand(IEnumerable<string> paths, IReadOnlyList<string>? extensions = null)
    {
        extensions ??= ImageExtensions;
        var result = new List<InputFile>();
        foreach (var path in paths)
        {
            if (File.Exists(path))
            {
                result.Add(new InputFile(path));
                continue;
            }
            if (!Directory.Exists(path))
            {
                result.Add(new InputFile(path, $"{path}: no such file or folder."));
                continue;
            }
            var options = new EnumerationOptions
            {
                RecurseSubdirectories = true,
                IgnoreInaccessible = true,
                AttributesToSkip = FileAttributes.Hidden | FileAttributes.System,
            };
            var files = Directory.EnumerateFiles(path, "*", options)
                .Where(f => extensions.Contains(System.IO.Path.GetExtension(f), StringComparer.OrdinalIgnoreCase))
                .Order(StringComparer.Ordinal)
                .ToArray();
            if (files.Length == 0)
                result.Add(new InputFile(path, $"{path}: no input files ({string.Join(", ", extensions)}) in this folder or below."));
            result.AddRange(files.Select(f => new InputFile(f)));
        }
        return result;
    }
}
