namespace OnnxTransfer.Tests;

/// <summary>
/// Locates ../shared (real models and datasets, read in place). Missing assets fail the test run:
/// CI must have them.
/// </summary>
public static class SharedAssets
{
    private static readonly Lazy<string> RootLazy = new(FindRoot);

    /// <summary>The repository root (folder holding OnnxTransfer.sln).</summary>
    public static string RepoRoot { get; } = FindRepoRoot();

    /// <summary>The shared folder (ONNXTRANSFER_SHARED or ../shared beside the repository).</summary>
    public static string Root => RootLazy.Value;

    public static string Models => Path.Combine(Root, "models");
    public static string MobileNetV2Int8 => Require(Path.Combine(Models, "mobilenetv2-12-int8.onnx"));
    public static string ImageNetClasses => Require(Path.Combine(Models, "imagenet_classes.txt"));
    public static string OpenWakeWord(string file) => Require(Path.Combine(Models, "openwakeword", file));
    public static string Dataset(string name) => Require(Path.Combine(Root, "datasets", name));
    public static string Photo(string name) => Require(Path.Combine(Root, "photos", name));

    /// <summary>A small copy of hymenoptera in <paramref name="dir"/>/data: the first <paramref name="train"/> and <paramref name="val"/> JPEGs per class.</summary>
    public static string SmallHymenoptera(TempDir dir, int train, int val)
    {
        var source = Dataset("hymenoptera");
        foreach (var (split, count) in new[] { ("train", train), ("val", val) })
            foreach (var label in new[] { "ants", "bees" })
            {
                var target = Path.Combine(dir.Path, "data", split, label);
                Directory.CreateDirectory(target);
                foreach (var file in Directory.GetFiles(Path.Combine(source, split, label), "*.jpg").Order(StringComparer.Ordinal).Take(count))
                    File.Copy(file, Path.Combine(target, Path.GetFileName(file)));
            }
        return Path.Combine(dir.Path, "data");
    }

    /// <summary>Returns <paramref name="path"/> or fails the test when it does not exist.</summary>
    public static string Require(string path)
    {
        if (!File.Exists(path) && !Directory.Exists(path))
            throw new FileNotFoundException($"shared asset missing: {path} (tests read ../shared in place; CI must provide it)");
        return path;
    }

    private static string FindRoot()
    {
        var env = Environment.GetEnvironmentVariable("ONNXTRANSFER_SHARED");
        var root = !string.IsNullOrEmpty(env) ? env : Path.GetFullPath(Path.Combine(RepoRoot, "..", "shared"));
        return Require(Path.Combine(root, "README.md")) is { } ? root : root;
    }

    private static string FindRepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "OnnxTransfer.sln")))
                return dir.FullName;
        throw new InvalidOperationException("cannot find OnnxTransfer.sln above " + AppContext.BaseDirectory);
    }
}
