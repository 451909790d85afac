using System.Globalization;

namespace OnnxTransfer.Data;

/// <summary>
/// The items of one training run by role, from <see cref="Plan"/>: what trains, what early stopping watches, and what the
/// reported evaluation scores. The three never share an item (nor, with <see cref="DataSplitOptions.Grouping"/>, a group),
/// so the reported score comes from data that neither training nor early stopping saw. Head training, fine-tuning and
/// learning curves all take their items from here, so one seed holds out the same items in each.
/// </summary>
/// <param name="Train">Items trained on.</param>
/// <param name="Validation">Items early stopping watches (empty = no early stopping).</param>
/// <param name="Evaluation">Items the report scores (empty = nothing to report on).</param>
/// <param name="ValidationName">Where <see cref="Validation"/> came from: "val" (the dataset's split), "10% of the training items (seed 1)" or "none".</param>
/// <param name="EvaluationName">Where <see cref="Evaluation"/> came from: "test", "val" (the dataset's splits), "stratified 20% hold-out (seed 1)" or "none".</param>
public sealed record DataSplit(IReadOnlyList<DatasetItem> Train, IReadOnlyList<DatasetItem> Validation, IReadOnlyList<DatasetItem> Evaluation,
    string ValidationName, string EvaluationName)
{
    /// <summary>
    /// Divides the labelled <paramref name="items"/>. Evaluation: the test split, else the val split, else a stratified
    /// <see cref="DataSplitOptions.HoldoutFraction"/> of the training items. Training: the train split (or every unsplit
    /// item) minus that hold-out, limited to <see cref="DataSplitOptions.PerClass"/>. Early stopping: the val split when a
    /// test split scores the model, else a stratified <see cref="DataSplitOptions.ValidationFraction"/> carved out of the
    /// training items. Items of other split names are left out.
    /// </summary>
    /// <exception cref="OnnxTransferException">Named splits without a train split; an item the grouping cannot place; a group
    /// spread over the dataset's own splits.</exception>
    public static DataSplit Plan(IReadOnlyList<DatasetItem> items, DataSplitOptions options)
    {
        var labelled = items.Where(i => i.Label.Length > 0).ToArray();
        var role = labelled.ToLookup(i => i.Split.Length == 0 ? "train" : DatasetLoader.NormalizeSplit(i.Split) ?? i.Split, StringComparer.Ordinal);
        var pool = role["train"].ToArray();
        if (pool.Length == 0 && labelled.Length > 0)
            throw new OnnxTransferException($"the dataset has splits ({string.Join(", ", role.Select(g => g.Key))}) but no 'train' items; name the training split 'train'.");
        var groups = options.Grouping is { } grouping ? labelled.ToDictionary(i => i.Id, grouping.GroupOf, StringComparer.Ordinal) : null;

        IReadOnlyList<DatasetItem> evaluation, validation = [];
        string evaluationName, validationName = "none";
        var test = role["test"].ToArray();
        var val = role["val"].ToArray();
        if (test.Length > 0)
        {
            (evaluation, evaluationName) = (test, "test");
            if (val.Length > 0) (validation, validationName) = (val, "val");
        }
        else if (val.Length > 0) (evaluation, evaluationName) = (val, "val");
        else
        {
            (pool, var held) = Divide(pool, options.HoldoutFraction, options.Seed, groups);
            evaluation = held;
            evaluationName = held.Length == 0 ? "none" : Invariant($"stratified {options.HoldoutFraction:P0} hold-out (seed {options.Seed})");
        }
        if (groups is not null) RefuseSharedGroups(groups, (pool, "train"), (validation, validationName), (evaluation, evaluationName));

        if (options.PerClass is { } n)
        {
            var keep = StratifiedSplit.PerClass(pool.Select(i => i.Id).ToArray(), pool.Select(i => i.Label).ToArray(), n, options.Seed);
            pool = keep.Select(r => pool[r]).ToArray();
        }
        if (validationName == "none" && options.ValidationFraction > 0)
        {
            var (train, carved) = Divide(pool, options.ValidationFraction, options.Seed, groups);
            if (carved.Length > 0)
            {
                (pool, validation) = (train, carved);
                validationName = Invariant($"{options.ValidationFraction:P0} of the training items (seed {options.Seed})");
            }
        }
        return new DataSplit(pool, validation, evaluation, validationName, evaluationName);
    }

    /// <summary>One line for the console: which items early stopping and the evaluation used.</summary>
    public string Describe() => Invariant(
        $"train: {Train.Count} items; early stopping: {Named(ValidationName)}{(Validation.Count > 0 ? $" ({Validation.Count} items)" : "")}; evaluation: {Named(EvaluationName)} ({Evaluation.Count} items, unseen by training and early stopping)")
        + (EvaluationName == "val" ? " — the dataset has no test split, so val is the evaluation set" + (Validation.Count > 0 ? " and early stopping used training items" : "") : "");

    private static string Named(string name) => name is "val" or "test" ? $"the dataset's {name} split" : name;

    private static (DatasetItem[] Kept, DatasetItem[] HeldOut) Divide(DatasetItem[] items, double fraction, ulong seed, Dictionary<string, string>? groups)
    {
        var (kept, held) = StratifiedSplit.Split(items.Select(i => i.Id).ToArray(), items.Select(i => i.Label).ToArray(), fraction, seed,
            groups is null ? null : r => groups[items[r].Id]);
        return (kept.Select(r => items[r]).ToArray(), held.Select(r => items[r]).ToArray());
    }

    // The dataset's own splits cannot be regrouped, so a group spread over them is the user's to fix.
    private static void RefuseSharedGroups(Dictionary<string, string> groups, params (IReadOnlyList<DatasetItem> Items, string Name)[] sides)
    {
        var seen = new Dictionary<string, (DatasetItem Item, string Side)>(StringComparer.Ordinal);
        foreach (var (items, name) in sides)
            foreach (var item in items)
            {
                var group = groups[item.Id];
                if (seen.TryGetValue(group, out var first) && first.Side != name)
                    throw new OnnxTransferException($"--group-by: group '{group}' has items in both '{first.Side}' and '{name}' ({first.Item.Id}, {item.Id}); move the group's files into one split, or drop --group-by.");
                seen.TryAdd(group, (item, name));
            }
    }

    private static string Invariant(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);
}
