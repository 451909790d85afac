namespace OnnxTransfer.Data;

/// <summary>
/// A loaded dataset: its items in ordinal order of <see cref="DatasetItem.Id"/>, and what the scan found.
/// Create with <see cref="DatasetLoader.Load"/>.
/// </summary>
public sealed class Dataset
{
    internal Dataset(string root, DatasetLayout layout, IReadOnlyList<DatasetItem> sortedItems, int ignoredHidden, int ignoredExtension, int ignoredStray, IReadOnlyList<string> warnings)
    {
        Root = root;
        Layout = layout;
        Items = sortedItems;
        Scan = new DatasetScan(sortedItems.Count, ignoredHidden, ignoredExtension, ignoredStray, CountClasses(sortedItems), warnings);
    }

    /// <summary>The dataset folder (the CSV's folder for a manifest); item ids are relative to it.</summary>
    public string Root { get; }

    /// <summary>The layout found (or forced).</summary>
    public DatasetLayout Layout { get; }

    /// <summary>The items, ordinally sorted by <see cref="DatasetItem.Id"/>.</summary>
    public IReadOnlyList<DatasetItem> Items { get; }

    /// <summary>Counts and warnings from the scan.</summary>
    public DatasetScan Scan { get; }

    /// <summary>Distinct non-empty labels, ordinally sorted.</summary>
    public IReadOnlyList<string> Labels => Items.Select(i => i.Label).Where(l => l.Length > 0).Distinct().Order(StringComparer.Ordinal).ToArray();

    /// <summary>Distinct split names ("" when the dataset has no splits), ordinally sorted.</summary>
    public IReadOnlyList<string> Splits => Items.Select(i => i.Split).Distinct().Order(StringComparer.Ordinal).ToArray();

    /// <summary>The items of one split (case-insensitive; "valid"/"validation" mean "val").</summary>
    public Dataset InSplit(string split)
    {
        var name = DatasetLoader.NormalizeSplit(split) ?? split;
        return Derive(Items.Where(i => string.Equals(i.Split, name, StringComparison.OrdinalIgnoreCase)).ToArray());
    }

    /// <summary>
    /// At most <paramref name="perClass"/> items of every (split, label) group, chosen by <see cref="StratifiedSplit.PerClass"/>
    /// (a seeded hash of the item id): deterministic, stratified, and stable when files are added (an item kept stays kept
    /// unless a newcomer outranks it).
    /// </summary>
    public Dataset TakePerClass(int perClass, int seed = 0)
    {
        if (perClass < 1)
            throw new OnnxTransferException($"per-class count {perClass}: must be at least 1.");
        var rows = StratifiedSplit.PerClass(Items.Select(i => i.Id).ToArray(), Items.Select(i => i.Split + "\0" + i.Label).ToArray(), perClass, (uint)seed);
        return Derive(rows.Select(r => Items[r]).ToArray());
    }

    private Dataset Derive(IReadOnlyList<DatasetItem> items) =>
        new(Root, Layout, items, Scan.IgnoredHidden, Scan.IgnoredExtension, Scan.IgnoredStray, Scan.Warnings);

    private static IReadOnlyDictionary<string, IReadOnlyDictionary<string, int>> CountClasses(IReadOnlyList<DatasetItem> items)
    {
        var result = new SortedDictionary<string, IReadOnlyDictionary<string, int>>(StringComparer.Ordinal);
        foreach (var split in items.GroupBy(i => i.Split))
        {
            var perLabel = new SortedDictionary<string, int>(StringComparer.Ordinal);
            foreach (var item in split)
                perLabel[item.Label] = perLabel.GetValueOrDefault(item.Label) + 1;
            result[split.Key] = perLabel;
        }
        return result;
    }
}
