using OnnxTransfer.Backbones;
using OnnxTransfer.Features;

namespace OnnxTransfer.Comparison;

/// <summary>`fit --backbone auto`: compare the candidates with fit's own split and settings, then hand fit the winner's cached features.</summary>
internal static class AutoBackbone
{
    /// <summary>The --backbone value that asks for a comparison.</summary>
    public const string Name = "auto";

    /// <summary>Whether <paramref name="backbone"/> asks for <see cref="Name"/>.</summary>
    public static bool IsAuto(string backbone) => backbone.Trim().Equals(Name, StringComparison.OrdinalIgnoreCase);

    /// <summary>Where the comparison for a fit writing <paramref name="modelPath"/> caches its features: <c>MODEL.compare/</c>.</summary>
    public static string CacheFolder(string modelPath) => Stem(modelPath) + ".compare";

    private static string Stem(string modelPath) =>
        Path.Combine(Path.GetDirectoryName(Path.GetFullPath(modelPath))!, Path.GetFileNameWithoutExtension(modelPath));

    /// <summary>
    /// Runs <see cref="BackboneComparison"/> for a fit writing <paramref name="modelPath"/> (caches in <c>MODEL.compare/</c>) with
    /// <paramref name="options"/>' split, seed, extraction and device. When the winner's store holds the whole dataset and
    /// <c>MODEL.features.parquet</c> does not exist yet, it is copied there, so fit extracts nothing again.
    /// </summary>
    public static async Task<ComparisonResult> ChooseForFitAsync(string dataPath, string modelPath, LearnerOptions options,
        IReadOnlyList<string>? candidates = null, BackboneRegistry? registry = null, IProgress<ProgressUpdate>? progress = null, CancellationToken ct = default)
    {
        var result = await BackboneComparison.RunAsync(dataPath, candidates, CacheFolder(modelPath), ComparisonOptions.From(options), registry, progress, ct);
        var winner = result.Winner;
        var features = Stem(modelPath) + ".features.parquet";
        if (winner.WholeDataset && !File.Exists(features) && !Directory.Exists(FeatureStore.PartialPath(features)))
            AtomicFile.Write(features, s => { using var source = File.OpenRead(winner.FeaturesPath); source.CopyTo(s); });
        return result;
    }
}
