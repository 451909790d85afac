namespace OnnxTransfer.Data;

/// <summary>What <see cref="DatasetLoader"/> found while scanning a dataset.</summary>
/// <param name="Items">Number of items kept.</param>
/// <param name="IgnoredHidden">Hidden entries (names starting with '.') skipped.</param>
/// <param name="IgnoredExtension">Files skipped because their extension is not accepted.</param>
/// <param name="IgnoredStray">Accepted files skipped because they sit outside any class folder.</param>
/// <param name="ClassCounts">Items per split ("" when there are no splits), then per label, ordinally sorted.</param>
/// <param name="Warnings">One-line warnings (empty class folders, labels missing from a split, stray files).</param>
public sealed record DatasetScan(
    int Items,
    int IgnoredHidden,
    int IgnoredExtension,
    int IgnoredStray,
    IReadOnlyDictionary<string, IReadOnlyDictionary<string, int>> ClassCounts,
    IReadOnlyList<string> Warnings);
