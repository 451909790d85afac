using OnnxTransfer.Features;

namespace OnnxTransfer.Training.Heads;

/// <summary>
/// The train / validation / test rows of a feature table, taken from its split column: "train", "val"
/// (also "valid", "validation") and "test". A table without splits is all training data. Hold-outs and per-class
/// limits are <see cref="Data.DataSplit"/>'s (keyed on item ids, shared by every training path).
/// </summary>
internal sealed record FeatureSplits(FeatureTable Train, FeatureTable? Validation, FeatureTable? Test)
{
    /// <summary>Splits <paramref name="table"/> by its split column.</summary>
    public static FeatureSplits From(FeatureTable table)
    {
        var named = table.Splits.Any(s => s.Length > 0);
        if (!named) return new FeatureSplits(table, null, null);
        var train = table.Where(i => Is(table.Splits[i], "train", "training"));
        var val = table.Where(i => Is(table.Splits[i], "val", "valid", "validation"));
        var test = table.Where(i => Is(table.Splits[i], "test", "testing"));
        if (train.Count == 0)
            throw new OnnxTransferException($"the feature table has splits ({string.Join(", ", table.Splits.Distinct())}) but no 'train' rows; name the training split 'train'.");
        return new FeatureSplits(train, val.Count > 0 ? val : null, test.Count > 0 ? test : null);
    }

    /// <summary>The rows to report on: the test split, else the validation split, else null.</summary>
    public FeatureTable? Holdout => Test ?? Validation;

    /// <summary>The named split ("train", "val", "test", or any split name in the table).</summary>
    public static FeatureTable Select(FeatureTable table, string split)
    {
        var aliases = split.ToLowerInvariant() switch
        {
            "val" or "valid" or "validation" => new[] { "val", "valid", "validation" },
            "test" or "testing" => ["test", "testing"],
            "train" or "training" => ["train", "training"],
            _ => [split],
        };
        var rows = table.Where(i => Is(table.Splits[i], aliases));
        if (rows.Count == 0)
            throw new OnnxTransferException($"no rows in split '{split}'; the table's splits are: {string.Join(", ", table.Splits.Distinct().Select(s => s.Length == 0 ? "(none)" : s))}.");
        return rows;
    }

    private static bool Is(string value, params string[] names) => names.Any(n => string.Equals(value, n, StringComparison.OrdinalIgnoreCase));
}
