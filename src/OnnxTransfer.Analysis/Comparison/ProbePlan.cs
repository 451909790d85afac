using OnnxTransfer.Data;
using OnnxTransfer.Features;

namespace OnnxTransfer.Comparison;

/// <summary>
/// The items of a comparison, the same for every candidate: the training side of `fit`'s split (its evaluation items are
/// never probed, so the choice does not peek at what fit reports on), dealt into stratified folds.
/// </summary>
/// <param name="Items">Training-side items, in id order.</param>
/// <param name="FoldOf">The fold of each item.</param>
/// <param name="Folds">Number of folds.</param>
/// <param name="Description">What the probe uses, in words.</param>
/// <param name="Extract">The items to extract: the whole dataset (the store fit reuses), or with a per-class limit only <paramref name="Items"/>.</param>
/// <param name="WholeDataset">Whether <paramref name="Extract"/> is the whole dataset.</param>
internal sealed record ProbePlan(IReadOnlyList<DatasetItem> Items, int[] FoldOf, int Folds, string Description,
    IReadOnlyList<DatasetItem> Extract, bool WholeDataset)
{
    /// <summary>Plans the probe on <paramref name="dataset"/>.</summary>
    /// <exception cref="OnnxTransferException">Fewer than two classes, or a class with a single training item.</exception>
    public static ProbePlan From(Dataset dataset, ComparisonOptions options)
    {
        var split = DataSplit.Plan(dataset.Items, new DataSplitOptions
        {
            HoldoutFraction = options.HoldoutFraction, ValidationFraction = 0, Seed = options.Seed,
            PerClass = options.PerClass, Grouping = options.Grouping,
        });
        var items = split.Train.OrderBy(i => i.Id, StringComparer.Ordinal).ToArray();
        var counts = items.GroupBy(i => i.Label, StringComparer.Ordinal).Select(g => (Label: g.Key, Count: g.Count())).ToArray();
        if (counts.Length < 2)
            throw new OnnxTransferException($"{dataset.Root}: {counts.Length} class(es) with training items; comparing backbones needs at least 2 (one folder or label per class).");
        var smallest = counts.MinBy(c => c.Count);
        if (smallest.Count < 2)
            throw new OnnxTransferException($"{dataset.Root}: class '{smallest.Label}' has {smallest.Count} training item; the cross-validated probe needs at least 2 per class.");
        // A fold without some class would score that class on nothing; fewer folds keep every class in every fold.
        var folds = Math.Min(options.Folds, smallest.Count);
        var grouping = options.Grouping;
        var foldOf = StratifiedSplit.Folds(items.Select(i => i.Id).ToArray(), items.Select(i => i.Label).ToArray(), folds, options.Seed,
            grouping is null ? null : r => grouping.GroupOf(items[r]));
        var whole = options.PerClass is null;
        var description = FormattableString.Invariant(
            $"{folds}-fold stratified linear probe (L-BFGS head) on {items.Length} training items{(options.PerClass is { } n ? $" (at most {n} per class)" : "")}, seed {options.Seed}; ")
            + (split.Evaluation.Count > 0
                ? FormattableString.Invariant($"the {split.Evaluation.Count} evaluation items ({split.EvaluationName}) are never probed")
                : "no evaluation items");
        return new ProbePlan(items, foldOf, folds, description, whole ? dataset.Items : items, whole);
    }

    /// <summary>
    /// The feature store of <paramref name="backbone"/> in <paramref name="cacheDir"/>: <c>NAME.features.parquet</c> for the whole
    /// dataset (what `fit` writes beside its model), else named by the listing, so another subset never meets a store of this one.
    /// </summary>
    public string StorePath(string cacheDir, string backbone) => Path.Combine(cacheDir, WholeDataset
        ? $"{backbone}.features.parquet"
        : $"{backbone}.probe-{FeatureStoreMetadata.DatasetFingerprint(Extract.Select(i => i.Id))[..12]}.features.parquet");
}
