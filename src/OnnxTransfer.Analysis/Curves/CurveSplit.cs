using OnnxTransfer.Data;

namespace OnnxTransfer.Curves;

/// <summary>
/// The images of a learning curve: one evaluation set that scores every run, and the pool the training subsets are drawn
/// from. Subsets are nested: per seed each class's pool is ranked once and size k takes its first k, so a larger subset
/// contains every smaller one (differences between sizes are not blurred by different draws).
/// </summary>
/// <param name="Pool">Labelled training images, dataset order.</param>
/// <param name="Eval">Labelled evaluation images.</param>
/// <param name="EvalName">Where <see cref="Eval"/> came from ("test", "val" or "stratified 20% hold-out (seed 1)").</param>
/// <param name="Classes">Class names, sorted.</param>
public sealed record CurveSplit(IReadOnlyList<DatasetItem> Pool, IReadOnlyList<DatasetItem> Eval, string EvalName, string[] Classes)
{
    /// <summary>
    /// <see cref="DataSplit.Plan"/> without early stopping: the test split (else val) scores the runs and the train split (or
    /// unsplit images) is the pool; a dataset with neither test nor val has a stratified <paramref name="holdoutFraction"/> of
    /// each class held out with <paramref name="holdoutSeed"/>, the same images `fit --seed` holds out. With
    /// <paramref name="grouping"/>, a group is never on both sides.
    /// </summary>
    /// <exception cref="OnnxTransferException">Fewer than two classes, or a class missing from the pool or the evaluation set.</exception>
    public static CurveSplit From(Dataset dataset, double holdoutFraction, ulong holdoutSeed, ItemGrouping? grouping = null)
    {
        var items = dataset.Items.Where(i => i.Label.Length > 0).ToArray();
        var classes = items.Select(i => i.Label).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToArray();
        if (classes.Length < 2)
            throw new OnnxTransferException($"{dataset.Root}: a learning curve needs at least 2 labelled classes, found {classes.Length}; point at a labelled dataset.");
        var plan = DataSplit.Plan(items, new DataSplitOptions { HoldoutFraction = holdoutFraction, ValidationFraction = 0, Seed = holdoutSeed, Grouping = grouping });
        var split = new CurveSplit(plan.Train, plan.Evaluation, plan.EvaluationName, classes);
        foreach (var c in classes)
        {
            if (split.Pool.All(i => i.Label != c))
                throw new OnnxTransferException($"{dataset.Root}: class '{c}' has no training image (only {split.EvalName}); add training images of it.");
            if (split.Eval.All(i => i.Label != c))
                throw new OnnxTransferException($"{dataset.Root}: class '{c}' has no image in {split.EvalName}; add some so every class is scored.");
        }
        return split;
    }

    /// <summary>Pool images per class.</summary>
    public IReadOnlyDictionary<string, int> PoolCounts() =>
        Classes.ToDictionary(c => c, c => Pool.Count(i => i.Label == c), StringComparer.Ordinal);

    /// <summary>
    /// Sorted indices into <see cref="Pool"/> of the training subset for <paramref name="perClass"/> examples per class (null =
    /// the whole pool) and <paramref name="seed"/>: <see cref="StratifiedSplit.PerClass"/>, the limiter `fit --per-class` uses,
    /// so a size and seed train on the images `fit --per-class N --seed S` trains on (before its early-stopping carve). Its
    /// ranking depends on the seed only, so subsets of one seed are nested.
    /// </summary>
    public int[] Subset(int? perClass, ulong seed) => perClass is { } n
        ? StratifiedSplit.PerClass(Pool.Select(i => i.Id).ToArray(), Pool.Select(i => i.Label).ToArray(), n, seed)
        : Enumerable.Range(0, Pool.Count).ToArray();
}
