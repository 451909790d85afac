using System.Text;

namespace OnnxTransfer.Data;

/// <summary>
/// The one seeded, stratified hold-out, k-fold dealer and per-class limiter behind every split in the library (fit, fine-tuning,
/// learning curves, backbone comparison, benchmarks, wake-word training, the trainers' own validation carve). All rank items by a seeded
/// hash of their key (the dataset item id, not the row order), so the same seed picks the same items whatever order they
/// arrive in, and adding files moves few of the existing picks.
/// </summary>
internal static class StratifiedSplit
{
    /// <summary>
    /// Holds out a <paramref name="fraction"/> of every class: round(n·fraction) items, at least one when the class has two
    /// or more, never all of it. Groups (<paramref name="groupOf"/>, e.g. one patient or one recording's augmented copies)
    /// are taken whole in seeded order, so every group lands on one side; a group is held out while one of its classes
    /// still needs items and none of its classes would lose its last kept item. Without grouping each key is its own group.
    /// </summary>
    /// <param name="keys">Stable item identities (dataset item ids), one per row.</param>
    /// <param name="labels">The class of each row ("" for all rows = one stratum).</param>
    /// <param name="fraction">Share of each class to hold out (0 holds out nothing).</param>
    /// <param name="seed">Seed of the ranking.</param>
    /// <param name="groupOf">Group of a row (by index); null = every row is its own group.</param>
    /// <returns>Sorted row indices kept and held out.</returns>
    public static (int[] Kept, int[] HeldOut) Split(IReadOnlyList<string> keys, IReadOnlyList<string> labels, double fraction, ulong seed,
        Func<int, string>? groupOf = null)
    {
        if (keys.Count != labels.Count) throw new ArgumentException("one label per key is needed.", nameof(labels));
        var count = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var l in labels) count[l] = count.GetValueOrDefault(l) + 1;
        var target = count.ToDictionary(c => c.Key,
            c => c.Value < 2 || fraction <= 0 ? 0 : Math.Clamp((int)Math.Round(c.Value * fraction), 1, c.Value - 1), StringComparer.Ordinal);
        var held = count.Keys.ToDictionary(c => c, _ => 0, StringComparer.Ordinal);
        var groups = Enumerable.Range(0, keys.Count)
            .GroupBy(i => groupOf?.Invoke(i) ?? keys[i], StringComparer.Ordinal)
            .OrderBy(g => Rank(seed, g.Key)).ThenBy(g => g.Key, StringComparer.Ordinal);
        var heldOut = new List<int>();
        foreach (var group in groups)
        {
            var perClass = group.GroupBy(i => labels[i], StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.Count(), StringComparer.Ordinal);
            var needed = perClass.Keys.Any(c => held[c] < target[c]);
            var keepsOne = perClass.All(c => count[c.Key] - held[c.Key] - c.Value >= 1);
            if (!needed || !keepsOne) continue;
            foreach (var (c, n) in perClass) held[c] += n;
            heldOut.AddRange(group);
        }
        heldOut.Sort();
        var heldSet = heldOut.ToHashSet();
        return (Enumerable.Range(0, keys.Count).Where(i => !heldSet.Contains(i)).ToArray(), heldOut.ToArray());
    }

    /// <summary>
    /// Deals the rows into <paramref name="k"/> folds for cross-validation, stratified: groups (as in <see cref="Split"/>) are
    /// taken whole in seeded order and each goes to the fold holding the fewest rows of its classes so far (ties: the fewest
    /// rows, then the lowest fold). Without grouping every class is dealt round-robin, so its count differs by at most one
    /// between folds; a group never spans two folds.
    /// </summary>
    /// <returns>The fold (0 to k−1) of every row.</returns>
    public static int[] Folds(IReadOnlyList<string> keys, IReadOnlyList<string> labels, int k, ulong seed, Func<int, string>? groupOf = null)
    {
        if (k < 2) throw new OnnxTransferException($"--folds {k}: give at least 2 folds.");
        if (keys.Count != labels.Count) throw new ArgumentException("one label per key is needed.", nameof(labels));
        var perClass = new Dictionary<string, int[]>(StringComparer.Ordinal);
        foreach (var l in labels) perClass.TryAdd(l, new int[k]);
        var total = new int[k];
        var fold = new int[keys.Count];
        var groups = Enumerable.Range(0, keys.Count)
            .GroupBy(i => groupOf?.Invoke(i) ?? keys[i], StringComparer.Ordinal)
            .OrderBy(g => Rank(seed, g.Key)).ThenBy(g => g.Key, StringComparer.Ordinal);
        foreach (var group in groups)
        {
            var classes = group.Select(i => labels[i]).Distinct(StringComparer.Ordinal).ToArray();
            var target = Enumerable.Range(0, k).MinBy(f => ((long)classes.Sum(c => perClass[c][f]) << 32) + total[f]);
            foreach (var i in group)
            {
                fold[i] = target;
                perClass[labels[i]][target]++;
                total[target]++;
            }
        }
        return fold;
    }

    /// <summary>
    /// At most <paramref name="perClass"/> rows of every class: the first of each class in the seeded ranking of the keys.
    /// The ranking does not depend on the count, so the rows kept for n are among those kept for any larger n (nested subsets).
    /// </summary>
    /// <returns>Sorted row indices kept.</returns>
    /// <exception cref="OnnxTransferException"><paramref name="perClass"/> is below 1.</exception>
    public static int[] PerClass(IReadOnlyList<string> keys, IReadOnlyList<string> labels, int perClass, ulong seed)
    {
        if (perClass < 1) throw new OnnxTransferException($"--per-class {perClass}: give a positive number of examples per class.");
        if (keys.Count != labels.Count) throw new ArgumentException("one label per key is needed.", nameof(labels));
        return Enumerable.Range(0, keys.Count)
            .GroupBy(i => labels[i], StringComparer.Ordinal)
            .SelectMany(g => g.OrderBy(i => Rank(seed, keys[i])).ThenBy(i => keys[i], StringComparer.Ordinal).Take(perClass))
            .Order().ToArray();
    }

    /// <summary>
    /// Seeded rank of a key: FNV-1a over its UTF-8 bytes, then a SplitMix64 finalizer keyed by the seed. Stable across
    /// runs and platforms (string.GetHashCode is randomized per process).
    /// </summary>
    public static ulong Rank(ulong seed, string key)
    {
        var h = 14695981039346656037UL;
        foreach (var b in Encoding.UTF8.GetBytes(key))
            h = (h ^ b) * 1099511628211UL;
        var z = h + 0x9E3779B97F4A7C15UL * seed + 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}
