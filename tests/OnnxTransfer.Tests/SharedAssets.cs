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
