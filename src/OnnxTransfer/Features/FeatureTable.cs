namespace OnnxTransfer.Features;

/// <summary>
/// Feature vectors in memory, one row per item: what the feature store reads back and what the trainer
/// consumes. <see cref="Features"/> is row-major, <c>Count × Dimension</c>.
/// </summary>
/// <param name="Paths">Item identifiers (file paths relative to the dataset root).</param>
/// <param name="Labels">Class label of each item ("" when unlabeled).</param>
/// <param name="Splits">Split of each item ("train", "val", "test", or "" when none was given).</param>
/// <param name="Features">Row-major feature matrix.</param>
/// <param name="Dimension">Length of one feature vector.</param>
public sealed record FeatureTable(string[] Paths, string[] Labels, string[] Splits, float[] Features, int Dimension)
{
    /// <summary>Number of rows.</summary>
    public int Count => Paths.Length;

    /// <summary>One row's feature vector.</summary>
    public ReadOnlySpan<float> Row(int i) => Features.AsSpan(i * Dimension, Dimension);

    /// <summary>The distinct labels, sorted ordinally (the class order used by training and export).</summary>
    public string[] Classes() => Labels.Where(l => l.Length > 0).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToArray();

    /// <summary>The rows whose split equals <paramref name="split"/> (case-insensitive).</summary>
    public FeatureTable WhereSplit(string split) => Where(i => string.Equals(Splits[i], split, StringComparison.OrdinalIgnoreCase));

    /// <summary>The rows for which <paramref name="keep"/> is true, in order.</summary>
    public FeatureTable Where(Func<int, bool> keep)
    {
        var rows = Enumerable.Range(0, Count).Where(keep).ToArray();
        var features = new float[rows.Length * Dimension];
        for (var k = 0; k < rows.Length; k++) Row(rows[k]).CopyTo(features.AsSpan(k * Dimension, Dimension));
        return new FeatureTable(rows.Select(i => Paths[i]).ToArray(), rows.Select(i => Labels[i]).ToArray(),
            rows.Select(i => Splits[i]).ToArray(), features, Dimension);
    }

    /// <summary>Checks the arrays agree in length.</summary>
    public void Validate()
    {
        if (Labels.Length != Count || Splits.Length != Count || Features.Length != (long)Count * Dimension)
            throw new OnnxTransferException($"feature table is inconsistent: {Count} paths, {Labels.Length} labels, {Splits.Length} splits, {Features.Length} values for dimension {Dimension}.");
    }
}
