using System.Globalization;
using System.Text;

namespace OnnxTransfer.Data;

/// <summary>
/// One of <see cref="Count"/> disjoint slices of a dataset, for running extraction as a job array
/// (Kubernetes Indexed Job, Slurm array). An item belongs to shard <c>H(Id) mod Count</c>, where H is
/// FNV-1a 64 of the UTF-8 Id followed by the SplitMix64 finalizer: stable across runs, machines and
/// listing order, so the N shards together cover every item exactly once.
/// </summary>
/// <param name="Index">This shard, 0-based.</param>
/// <param name="Count">How many shards in all.</param>
public sealed record Shard(int Index, int Count)
{
    /// <summary>"i/N".</summary>
    public override string ToString() => $"{Index}/{Count}";

    /// <summary>True when the item with <paramref name="id"/> belongs to this shard.</summary>
    public bool Contains(string id) => Of(id, Count) == Index;

    /// <summary>The items of this shard, in their given order.</summary>
    public IReadOnlyList<DatasetItem> Select(IEnumerable<DatasetItem> items) => items.Where(i => Contains(i.Id)).ToArray();

    /// <summary>The shard (0..count-1) that <paramref name="id"/> falls in.</summary>
    public static int Of(string id, int count)
    {
        if (count < 1) throw new ArgumentOutOfRangeException(nameof(count));
        return (int)(StableHash(id) % (ulong)count);
    }

    /// <summary>FNV-1a 64 of the UTF-8 bytes, mixed with the SplitMix64 finalizer so that low bits are uniform.</summary>
    public static ulong StableHash(string id)
    {
        var h = 14695981039346656037UL;
        Span<byte> small = stackalloc byte[256];
        var bytes = Encoding.UTF8.GetByteCount(id) <= small.Length ? small[..Encoding.UTF8.GetBytes(id, small)] : Encoding.UTF8.GetBytes(id);
        foreach (var b in bytes) { h ^= b; h *= 1099511628211UL; }
        h ^= h >> 30; h *= 0xbf58476d1ce4e5b9UL;
        h ^= h >> 27; h *= 0x94d049bb133111ebUL;
        h ^= h >> 31;
        return h;
    }

    /// <summary>
    /// The file this shard writes for the output <paramref name="outPath"/>:
    /// <c>feats.parquet</c> becomes <c>feats.part-0-of-3.parquet</c>.
    /// </summary>
    public string PartPath(string outPath)
    {
        var ext = Path.GetExtension(outPath);
        var stem = outPath[..^ext.Length];
        return $"{stem}.part-{Index}-of-{Count}{ext}";
    }

    /// <summary>
    /// Reads a shard from text: <c>i/N</c> (e.g. <c>2/8</c>), <c>auto</c> (index and count from
    /// SLURM_ARRAY_TASK_ID/SLURM_ARRAY_TASK_COUNT) or <c>auto/N</c> (index from JOB_COMPLETION_INDEX or
    /// SLURM_ARRAY_TASK_ID, count N). <paramref name="environment"/> defaults to the process environment.
    /// </summary>
    public static Shard Parse(string text, Func<string, string?>? environment = null)
    {
        var t = text.Trim();
        var slash = t.IndexOf('/');
        var first = slash < 0 ? t : t[..slash];
        var second = slash < 0 ? null : t[(slash + 1)..];
        if (first.Equals("auto", StringComparison.OrdinalIgnoreCase))
            return FromEnvironment(second is null ? null : ParseInt(second, text), environment);
        if (second is null) throw Bad(text);
        return Create(ParseInt(first, text), ParseInt(second, text), text);
    }

    /// <summary>
    /// The shard of this job-array task: Kubernetes' JOB_COMPLETION_INDEX (needs <paramref name="count"/>), or
    /// Slurm's SLURM_ARRAY_TASK_ID relative to SLURM_ARRAY_TASK_MIN, with SLURM_ARRAY_TASK_COUNT unless
    /// <paramref name="count"/> is given.
    /// </summary>
    public static Shard FromEnvironment(int? count, Func<string, string?>? environment = null)
    {
        var env = environment ?? Environment.GetEnvironmentVariable;
        if (env("JOB_COMPLETION_INDEX") is { Length: > 0 } k8s)
        {
            if (count is null)
                throw new OnnxTransferException("--shard auto: JOB_COMPLETION_INDEX is set but the shard count is not; use --shard auto/N with N = the Job's completions.");
            return Create(ParseInt(k8s, "JOB_COMPLETION_INDEX=" + k8s), count.Value, $"JOB_COMPLETION_INDEX={k8s}");
        }
        if (env("SLURM_ARRAY_TASK_ID") is { Length: > 0 } slurm)
        {
            var min = env("SLURM_ARRAY_TASK_MIN") is { Length: > 0 } m ? ParseInt(m, "SLURM_ARRAY_TASK_MIN=" + m) : 0;
            var n = count ?? (env("SLURM_ARRAY_TASK_COUNT") is { Length: > 0 } c ? ParseInt(c, "SLURM_ARRAY_TASK_COUNT=" + c)
                : throw new OnnxTransferException("--shard auto: SLURM_ARRAY_TASK_COUNT is not set; use --shard auto/N."));
            return Create(ParseInt(slurm, "SLURM_ARRAY_TASK_ID=" + slurm) - min, n, $"SLURM_ARRAY_TASK_ID={slurm}");
        }
        throw new OnnxTransferException("--shard auto: neither JOB_COMPLETION_INDEX (Kubernetes Indexed Job) nor SLURM_ARRAY_TASK_ID (Slurm array) is set; give the shard as i/N.");
    }

    private static Shard Create(int index, int count, string source)
    {
        if (count < 1 || index < 0 || index >= count)
            throw new OnnxTransferException($"shard '{source}': need 0 <= index < count (got index {index}, count {count}); shards are numbered 0..N-1.");
        return new Shard(index, count);
    }

    private static int ParseInt(string s, string text) =>
        int.TryParse(s.Trim(), NumberStyles.Integer, CultureInfo.InvariantCulture, out var v) ? v : throw Bad(text);

    private static OnnxTransferException Bad(string text) =>
        new($"shard '{text}': expected i/N (e.g. 0/4), auto or auto/N.");
}
