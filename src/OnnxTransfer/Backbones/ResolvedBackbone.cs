using OnnxTransfer.Imaging;

namespace OnnxTransfer.Backbones;

/// <summary>Where one backbone file came from on this resolution.</summary>
/// <param name="File">File name.</param>
/// <param name="Path">Local path (in the cache, or the user's own file).</param>
/// <param name="Source">"cache", "mirror PATH", the URL, "npm PACKAGE@VERSION" or "local file".</param>
public sealed record ResolvedFile(string File, string Path, string Source);

/// <summary>
/// A backbone ready to load: local file paths plus what the manifest says about them. A plain .onnx path
/// resolves without a manifest: ImageNet preprocessing and an automatically found feature tensor.
/// </summary>
/// <param name="Manifest">The manifest, or null for a plain file.</param>
/// <param name="Files">The manifest's files, resolved.</param>
/// <param name="PreparedModel">The model made from the files as the manifest's <c>prepare</c> says, or null.</param>
public sealed record ResolvedBackbone(BackboneManifest? Manifest, IReadOnlyList<ResolvedFile> Files, string? PreparedModel = null)
{
    /// <summary>Local paths, in manifest order.</summary>
    public IReadOnlyList<string> FilePaths => Files.Select(f => f.Path).ToArray();

    /// <summary>The model image backbones run: the prepared model, else the first (for image backbones, the only) file.</summary>
    public string ModelPath => PreparedModel ?? Files[0].Path;

    /// <summary>SHA-256 of <see cref="ModelPath"/> (from the manifest when it lists that file).</summary>
    public string ModelSha256 => PreparedModel is null && Manifest is not null ? Manifest.Files[0].Sha256 : FileChecksum.Sha256(ModelPath);

    /// <summary>The local path of the file called <paramref name="fileName"/>.</summary>
    public string PathOf(string fileName) =>
        Files.FirstOrDefault(f => f.File == fileName)?.Path
        ?? throw new OnnxTransferException($"backbone '{Name}': no file '{fileName}' (files: {string.Join(", ", Files.Select(f => f.File))}).");

    /// <summary>Backbone name, or the file name for a plain path.</summary>
    public string Name => Manifest?.Name ?? System.IO.Path.GetFileNameWithoutExtension(Files[0].Path);

    /// <summary>Licence from the manifest, or "unknown (your own file)".</summary>
    public string Licence => Manifest?.Licence ?? "unknown (your own file)";

    /// <summary>Image preprocessing: the manifest's, or ImageNet defaults for a plain file.</summary>
    public ImagePreprocessing Preprocessing => Manifest?.ImagePreprocessing ?? ImagePreprocessing.ImageNet;

    /// <summary>Feature tensor name, or "auto".</summary>
    public string FeatureTensor => Manifest?.FeatureTensor ?? BackboneManifest.AutoFeatureTensor;

    /// <summary>Feature length when known.</summary>
    public int? FeatureDim => Manifest?.FeatureDim;
}
