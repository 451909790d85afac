namespace OnnxTransfer.Data;

/// <summary>How <see cref="DataSplit.Plan"/> divides a dataset.</summary>
public sealed record DataSplitOptions
{
    /// <summary>Share of each class held out for evaluation when the dataset has neither a test nor a val split.</summary>
    public double HoldoutFraction { get; init; } = 0.2;

    /// <summary>Share of each class of the training items carved out for early stopping (0 = none); unused when the dataset has both a val and a test split (val is then the early-stopping set).</summary>
    public double ValidationFraction { get; init; } = 0.1;

    /// <summary>Seed of the hold-out, the per-class limit and the validation carve.</summary>
    public ulong Seed { get; init; } = 1;

    /// <summary>Train on at most this many items per class (validation carve included); null = all.</summary>
    public int? PerClass { get; init; }

    /// <summary>Items that must stay on one side of every split; null = none.</summary>
    public ItemGrouping? Grouping { get; init; }
}
