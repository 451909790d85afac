using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using OnnxTransfer.Data;

namespace OnnxTransfer.Features;

/// <summary>
/// What a feature store's vectors are: written as Parquet key-value metadata (keys <c>onnxtransfer.*</c>) so
/// training, merging and resuming can check they combine like with like.
/// </summary>
/// <param name="Backbone">Backbone name (registry name or file name).</param>
/// <param name="BackboneSha256">SHA-256 of the (cut) backbone model file, lowercase hex.</param>
/// <param name="FeatureTensor">Name of the backbone output the features were taken from.</param>
/// <param name="Preprocessing">Text form of the preprocessing (e.g. <c>ImagePreprocessing.ToString()</c>).</param>
/// <param name="Dimension">Length of one feature vector (0 while not yet known).</param>
internal sealed record FeatureStoreMetadata(string Backbone, string BackboneSha256, string FeatureTensor, string Preprocessing, int Dimension)
{
    /// <summary>Prefix of every key this toolkit writes.</summary>
    public const string KeyPrefix = "onnxtransfer.";

    /// <summary>The toolkit that wrote the file (<see cref="ToolInfo.NameAndVersion"/>).</summary>
    public string Tool { get; init; } = ToolInfo.NameAndVersion;

    /// <summary>Number of items in the dataset listing the extraction ran over (before sharding).</summary>
    public long DatasetItems { get; init; }

    /// <summary>SHA-256 of the listing's sorted ids (see <see cref="DatasetFingerprint"/>); "" when unknown.</summary>
    public string DatasetSha256 { get; init; } = "";

    /// <summary>The shard this file holds, for shard part files; null for a complete store.</summary>
    public Shard? Shard { get; init; }

    /// <summary>The key-value pairs written into the Parquet footer.</summary>
    public Dictionary<string, string> ToKeyValues()
    {
        var kv = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            [KeyPrefix + "backbone"] = Backbone,
            [KeyPrefix + "backbone_sha256"] = BackboneSha256,
            [KeyPrefix + "feature_tensor"] = FeatureTensor,
            [KeyPrefix + "preprocessing"] = Preprocessing,
            [KeyPrefix + "dimension"] = Dimension.ToString(CultureInfo.InvariantCulture),
            [KeyPrefix + "dataset_items"] = DatasetItems.ToString(CultureInfo.InvariantCulture),
            [KeyPrefix + "dataset_sha256"] = DatasetSha256,
            [KeyPrefix + "tool"] = Tool,
        };
        if (Shard is not null) kv[KeyPrefix + "shard"] = Shard.ToString();
        return kv;
    }

    /// <summary>Reads the metadata back from key-value pairs; <paramref name="file"/> names the source in errors.</summary>
    public static FeatureStoreMetadata FromKeyValues(IReadOnlyDictionary<string, string> kv, string file)
    {
        string Get(string key) => kv.TryGetValue(KeyPrefix + key, out var v) ? v
            : throw new OnnxTransferException($"{file}: not an OnnxTransfer feature store (metadata '{KeyPrefix}{key}' is missing); extract features with onnxtransfer.");
        var c = CultureInfo.InvariantCulture;
        if (!int.TryParse(Get("dimension"), NumberStyles.Integer, c, out var dim) || dim < 0)
            throw new OnnxTransferException($"{file}: metadata '{KeyPrefix}dimension' is not a number; the file is damaged, re-extract it.");
        long.TryParse(kv.GetValueOrDefault(KeyPrefix + "dataset_items", "0"), NumberStyles.Integer, c, out var items);
        return new FeatureStoreMetadata(Get("backbone"), Get("backbone_sha256"), Get("feature_tensor"), Get("preprocessing"), dim)
        {
            Tool = kv.GetValueOrDefault(KeyPrefix + "tool", ""),
            DatasetItems = items,
            DatasetSha256 = kv.GetValueOrDefault(KeyPrefix + "dataset_sha256", ""),
            Shard = kv.TryGetValue(KeyPrefix + "shard", out var s) ? Data.Shard.Parse(s, _ => null) : null,
        };
    }

    /// <summary>
    /// The first field in which <paramref name="other"/> describes different features ("backbone", ...), or
    /// null when both describe the same features of the same listing. The tool version is not compared;
    /// a dimension of 0 (not yet known) matches any.
    /// </summary>
    public string? Difference(FeatureStoreMetadata other)
    {
        if (Backbone != other.Backbone) return $"backbone '{other.Backbone}' vs '{Backbone}'";
        if (BackboneSha256 != other.BackboneSha256) return $"backbone sha256 {Short(other.BackboneSha256)} vs {Short(BackboneSha256)}";
        if (FeatureTensor != other.FeatureTensor) return $"feature tensor '{other.FeatureTensor}' vs '{FeatureTensor}'";
        if (Preprocessing != other.Preprocessing) return $"preprocessing '{other.Preprocessing}' vs '{Preprocessing}'";
        if (Dimension != 0 && other.Dimension != 0 && Dimension != other.Dimension) return $"dimension {other.Dimension} vs {Dimension}";
        if (DatasetSha256 != other.DatasetSha256) return $"dataset listing ({other.DatasetItems} items vs {DatasetItems}, different ids)";
        if (Shard != other.Shard) return $"shard {other.Shard?.ToString() ?? "none"} vs {Shard?.ToString() ?? "none"}";
        return null;
    }

    /// <summary>SHA-256 (lowercase hex) of the ids sorted ordinally, one per line: identifies a dataset listing.</summary>
    public static string DatasetFingerprint(IEnumerable<string> ids)
    {
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        foreach (var id in ids.Order(StringComparer.Ordinal))
        {
            sha.AppendData(Encoding.UTF8.GetBytes(id));
            sha.AppendData("\n"u8);
        }
        return Convert.ToHexStringLower(sha.GetHashAndReset());
    }

    private static string Short(string hex) => hex.Length > 12 ? hex[..12] : hex;
}
