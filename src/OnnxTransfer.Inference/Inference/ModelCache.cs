namespace OnnxTransfer.Inference;

/// <summary>The local folder where pulled models (backbones, speech front ends) are kept: <c>CACHE/models/NAME/FILE</c>.</summary>
public static class ModelCache
{
    /// <summary>Environment variable naming the cache folder.</summary>
    public const string HomeVariable = "ONNXTRANSFER_HOME";

    /// <summary>
    /// <c>$ONNXTRANSFER_HOME</c>, else <c>$XDG_CACHE_HOME/onnxtransfer</c>, else <c>~/.cache/onnxtransfer</c> (full path).
    /// </summary>
    public static string DefaultDirectory()
    {
        var home = Environment.GetEnvironmentVariable(HomeVariable);
        if (string.IsNullOrWhiteSpace(home))
        {
            var xdg = Environment.GetEnvironmentVariable("XDG_CACHE_HOME");
            var baseDir = !string.IsNullOrWhiteSpace(xdg)
                ? xdg
                : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache");
            home = Path.Combine(baseDir, "onnxtransfer");
        }
        return Path.GetFullPath(home);
    }

    /// <summary>The folder of one model inside <paramref name="cacheDir"/>.</summary>
    public static string ModelDirectory(string cacheDir, string name) => Path.Combine(cacheDir, "models", name);
}
