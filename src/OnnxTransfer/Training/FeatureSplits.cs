using OnnxTransfer.Features;

namespace OnnxTransfer.Training;

/// <summary>
/// The train / validation / test rows of a feature table, taken from its split column: "train", "val"
/// (also "valid", "validation") and "test". A table without splits is all training data (the trainer then
/// holds out a stratified validation fraction itself).
/// </summary>
public sealed record FeatureSplits(FeatureTable Train, FeatureTable? Validation, FeatureTable? Test)
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

    /// <summary>
    /// With no test or validation rows, moves a stratified <paramref name="fraction"/> of the training rows to
    /// <see cref="Test"/> so there is something held out to report on. The choice depends only on the item ids
    /// and <paramref name="seed"/>, so it is stable across runs and machines.
    /// </summary>
    public FeatureSplits WithHoldout(double fraction, ulong seed)
    {
        if (Holdout is not null || fraction <= 0) return this;
        var test = new HashSet<int>();
        foreach (var rows in RowsByClass(Train, seed))
        {
            var take = rows.Count < 2 ? 0 : Math.Max(1, (int)Math.Round(rows.Count * fraction));
            foreach (var r in rows.Take(take)) test.Add(r);
        }
        return new FeatureSplits(Train.Where(i => !test.Contains(i)), Validation, Train.Where(test.Contains));
    }

    /// <summary>Keeps at most <paramref name="perClass"/> training rows per class (a stable, seeded choice): the few-shot case.</summary>
    public FeatureSplits LimitTrainPerClass(int perClass, ulong seed)
    {
        if (perClass <= 0) throw new OnnxTransferException($"--per-class {perClass}: give a positive number of examples per class.");
        var keep = RowsByClass(Train, seed).SelectMany(rows => rows.Take(perClass)).ToHashSet();
        return this with { Train = Train.Where(keep.Contains) };
    }

    private static IEnumerable<List<int>> RowsByClass(FeatureTable table, ulong seed) =>
        Enumerable.Range(0, table.Count)
            .GroupBy(i => table.Labels[i], StringComparer.Ordinal)
            .OrderBy(g => g.Key, StringComparer.Ordinal)
            .Select(g => g.OrderBy(i => Data.Shard.StableHash($"{seed}:{table.Paths[i]}")).ThenBy(i => table.Paths[i], StringComparer.Ordinal).ToList());

    private static bool Is(string value, params string[] names) => names.Any(n => string.Equals(value, n, StringComparison.OrdinalIgnoreCase));
}
