using OnnxTransfer.Features;

namespace OnnxTransfer.Training.Heads;

/// <summary>
/// Training rows in memory: a row-major feature matrix with either one class index per row
/// (binary / multi-class) or a 0/1 target per label (multi-label, row-major <c>Count × Classes</c>).
/// </summary>
public sealed class TrainingSet
{
    private TrainingSet(float[] features, int dimension, string[] classes, int[]? classIndex, float[]? targets)
    {
        if (dimension <= 0 || features.Length % dimension != 0)
            throw new OnnxTransferException($"training data: {features.Length} feature values do not form rows of dimension {dimension}.");
        Features = features;
        Dimension = dimension;
        Classes = classes;
        ClassIndex = classIndex;
        Targets = targets;
        Count = features.Length / dimension;
        if (classIndex is not null && classIndex.Length != Count)
            throw new OnnxTransferException($"training data: {classIndex.Length} labels for {Count} rows.");
        if (classIndex is not null && classIndex.Any(c => c < 0 || c >= classes.Length))
            throw new OnnxTransferException($"training data: a class index is outside 0..{classes.Length - 1}.");
        if (targets is not null && targets.Length != Count * classes.Length)
            throw new OnnxTransferException($"training data: {targets.Length} targets for {Count} rows × {classes.Length} labels.");
        if (features.Any(v => !float.IsFinite(v)))
            throw new OnnxTransferException("training data: the features contain NaN or infinity; re-extract them.");
    }

    /// <summary>Row-major features, <see cref="Count"/> × <see cref="Dimension"/>.</summary>
    public float[] Features { get; }
    /// <summary>Feature vector length.</summary>
    public int Dimension { get; }
    /// <summary>Class (or label) names, in logit order.</summary>
    public string[] Classes { get; }
    /// <summary>Class index per row (single-label data), else null.</summary>
    public int[]? ClassIndex { get; }
    /// <summary>0/1 targets, <see cref="Count"/> × classes (multi-label data), else null.</summary>
    public float[]? Targets { get; }
    /// <summary>Number of rows.</summary>
    public int Count { get; }
    /// <summary>True for multi-label data.</summary>
    public bool IsMultiLabel => Targets is not null;

    /// <summary>The group of each row (one patient's scans), or null: the splits and folds here keep a group on one side.</summary>
    internal string[]? Groups { get; private init; }

    /// <summary>These rows with the group of each (<see cref="Groups"/>).</summary>
    internal TrainingSet WithGroups(string[] groups)
    {
        if (groups.Length != Count) throw new ArgumentException($"{groups.Length} groups for {Count} rows.", nameof(groups));
        return new TrainingSet(Features, Dimension, Classes, ClassIndex, Targets) { Groups = groups };
    }

    /// <summary>Single-label rows: <paramref name="labels"/>[i] indexes <paramref name="classes"/>.</summary>
    public static TrainingSet SingleLabel(float[] features, int dimension, int[] labels, string[] classes) =>
        new(features, dimension, classes, labels, null);

    /// <summary>Multi-label rows with 0/1 <paramref name="targets"/> (row-major, rows × labels).</summary>
    public static TrainingSet MultiLabel(float[] features, int dimension, float[] targets, string[] labels) =>
        new(features, dimension, labels, null, targets);

    /// <summary>
    /// Rows of a feature table. Single-label: each label must be one of <paramref name="classes"/>
    /// (default: the table's own sorted classes). With <paramref name="multiLabel"/> a label holds the
    /// row's labels separated by ';'. Unlabeled rows are an error.
    /// </summary>
    public static TrainingSet FromTable(FeatureTable table, string[]? classes = null, bool multiLabel = false)
    {
        table.Validate();
        var names = classes ?? (multiLabel
            ? table.Labels.SelectMany(SplitLabels).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToArray()
            : table.Classes());
        var index = names.Select((n, i) => (n, i)).ToDictionary(p => p.n, p => p.i, StringComparer.Ordinal);
        for (var r = 0; r < table.Count; r++)
            if (table.Labels[r].Length == 0)
                throw new OnnxTransferException($"training data: '{table.Paths[r]}' has no label; label it or leave it out of training.");
        int Lookup(string label, int row) => index.TryGetValue(label, out var c) ? c
            : throw new OnnxTransferException($"training data: '{table.Paths[row]}' has label '{label}', which is not one of the head's classes ({string.Join(", ", names)}).");
        if (!multiLabel)
            return SingleLabel(table.Features, table.Dimension, table.Labels.Select(Lookup).ToArray(), names);
        var targets = new float[table.Count * names.Length];
        for (var r = 0; r < table.Count; r++)
            foreach (var l in SplitLabels(table.Labels[r])) targets[r * names.Length + Lookup(l, r)] = 1;
        return MultiLabel(table.Features, table.Dimension, targets, names);
    }

    /// <summary>
    /// Stratified hold-out of rows by <see cref="Data.StratifiedSplit.Split"/>, per class (multi-label data: one stratum).
    /// In-memory rows carry no item id, so the row index is the key unless <paramref name="groupOf"/> (default: the rows'
    /// groups, if any) names the row's item or group; callers that have item ids should split the items instead.
    /// </summary>
    public (int[] Train, int[] Val) SplitRows(double fraction, ulong seed, Func<int, string>? groupOf = null)
    {
        var (keys, labels) = RowKeys();
        return Data.StratifiedSplit.Split(keys, labels, fraction, seed, groupOf ?? GroupOf);
    }

    /// <summary>
    /// The fold (0 to <paramref name="k"/>−1) of every row, dealt by <see cref="Data.StratifiedSplit.Folds"/> per class
    /// (multi-label data: one stratum), keyed on the row index like <see cref="SplitRows"/>; a group's rows share a fold.
    /// </summary>
    internal int[] FoldRows(int k, ulong seed)
    {
        var (keys, labels) = RowKeys();
        return Data.StratifiedSplit.Folds(keys, labels, k, seed, GroupOf);
    }

    private Func<int, string>? GroupOf => Groups is { } groups ? i => groups[i] : null;

    // The row index as key and the class as stratum (multi-label data: one stratum), for the splits above.
    private (string[] Keys, string[] Labels) RowKeys() =>
        (Enumerable.Range(0, Count).Select(i => i.ToString(System.Globalization.CultureInfo.InvariantCulture)).ToArray(),
         Enumerable.Range(0, Count).Select(i => ClassIndex is { } c ? Classes[c[i]] : "").ToArray());

    /// <summary>The rows at <paramref name="rows"/>, in that order.</summary>
    public TrainingSet Subset(IReadOnlyList<int> rows)
    {
        var f = new float[rows.Count * Dimension];
        for (var k = 0; k < rows.Count; k++) Features.AsSpan(rows[k] * Dimension, Dimension).CopyTo(f.AsSpan(k * Dimension));
        TrainingSet subset;
        if (Targets is null) subset = SingleLabel(f, Dimension, rows.Select(r => ClassIndex![r]).ToArray(), Classes);
        else
        {
            var c = Classes.Length;
            var t = new float[rows.Count * c];
            for (var k = 0; k < rows.Count; k++) Targets.AsSpan(rows[k] * c, c).CopyTo(t.AsSpan(k * c));
            subset = MultiLabel(f, Dimension, t, Classes);
        }
        return Groups is { } groups ? subset.WithGroups(rows.Select(r => groups[r]).ToArray()) : subset;
    }

    private static IEnumerable<string> SplitLabels(string s) =>
        s.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
}
