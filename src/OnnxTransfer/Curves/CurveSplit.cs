using OnnxTransfer.Data;
using OnnxTransfer.Training;

namespace OnnxTransfer.Curves;

/// <summary>
/// The images of a learning curve: one evaluation set that scores every run, and the pool the training subsets are drawn
/// from. Subsets are nested: per seed each class's pool is shuffled once and size k takes its first k, so a larger subset
/// contains every smaller one (differences between sizes are not blurred by different draws).
/// </summary>
/// <param name="Pool">Labelled training images, dataset order.</param>
/// <param name="Eval">Labelled evaluation images.</param>
/// <param name="EvalName">Where <see cref="Eval"/> came from ("test", "val" or "stratified 20% hold-out (seed 1)").</param>
/// <param name="Classes">Class names, sorted.</param>
public sealed record CurveSplit(IReadOnlyList<DatasetItem> Pool, IReadOnlyList<DatasetItem> Eval, string EvalName, string[] Classes)
{
    private const ulong SubsetStream = 0xC0_12FE_5EED_0001UL;

    /// <summary>
    /// The test split (else val) scores the runs and the train split (or unsplit images) is the pool; a dataset with
    /// neither test nor val has a stratified <paramref name="holdoutFraction"/> of each class held out with <paramref name="holdoutSeed"/>.
    /// </summary>
    /// <exception cref="OnnxTransferException">Fewer than two classes, or a class missing from the pool or the evaluation set.</exception>
    public static CurveSplit From(Dataset dataset, double holdoutFraction, ulong holdoutSeed)
    {
        var items = dataset.Items.Where(i => i.Label.Length > 0).ToArray();
        var classes = items.Select(i => i.Label).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToArray();
        if (classes.Length < 2)
            throw new OnnxTransferException($"{dataset.Root}: a learning curve needs at least 2 labelled classes, found {classes.Length}; point at a labelled dataset.");
        var evalSplit = items.Any(i => i.Split == "test") ? "test" : items.Any(i => i.Split == "val") ? "val" : null;
        CurveSplit split;
        if (evalSplit is not null)
        {
            split = new CurveSplit(items.Where(i => i.Split is not ("test" or "val")).ToArray(), items.Where(i => i.Split == evalSplit).ToArray(), evalSplit, classes);
        }
        else
        {
            var set = TrainingSet.SingleLabel(new float[items.Length], 1, items.Select(i => Array.BinarySearch(classes, i.Label, StringComparer.Ordinal)).ToArray(), classes);
            var (train, eval) = Trainer.StratifiedSplit(set, holdoutFraction, holdoutSeed);
            split = new CurveSplit(train.Select(i => items[i]).ToArray(), eval.Select(i => items[i]).ToArray(),
                FormattableString.Invariant($"stratified {holdoutFraction:P0} hold-out (seed {holdoutSeed})"), classes);
        }
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
    /// Indices into <see cref="Pool"/> of the training subset for <paramref name="perClass"/> examples per class (null = the
    /// whole pool) and <paramref name="seed"/>: the first min(k, class size) of each class's seeded permutation, classes in
    /// sorted order. The permutation depends on the seed only, so subsets of one seed are nested.
    /// </summary>
    public int[] Subset(int? perClass, ulong seed)
    {
        if (perClass is null) return Enumerable.Range(0, Pool.Count).ToArray();
        var rows = new List<int>();
        foreach (var permutation in Permutations(seed)) rows.AddRange(permutation.Take(perClass.Value));
        return rows.ToArray();
    }

    /// <summary>Each class's pool indices shuffled with a stream derived from <paramref name="seed"/>, classes in sorted order.</summary>
    private IEnumerable<int[]> Permutations(ulong seed)
    {
        var rng = new SeededRandom(seed ^ SubsetStream);
        foreach (var c in Classes)
        {
            var rows = Enumerable.Range(0, Pool.Count).Where(i => Pool[i].Label == c).ToArray();
            rng.Shuffle(rows.AsSpan());
            yield return rows;
        }
    }
}
