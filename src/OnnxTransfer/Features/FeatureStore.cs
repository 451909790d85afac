using System.Runtime.CompilerServices;
using OnnxTransfer.Data;

namespace OnnxTransfer.Features;

/// <summary>What <see cref="FeatureStore.MergeAsync"/> did.</summary>
/// <param name="Output">The merged file.</param>
/// <param name="Parts">Number of part files merged.</param>
/// <param name="Rows">Rows written.</param>
public sealed record FeatureMergeSummary(string Output, int Parts, long Rows);

/// <summary>
/// Feature vectors on disk as Parquet (see <see cref="FeatureStoreMetadata"/> for the footer): columns
/// <c>path</c>, <c>label</c>, <c>split</c> and <c>features</c> (<c>list&lt;float&gt;</c>), rows sorted by path
/// (ordinal) in row groups of <see cref="RowGroupSize"/>, so the same rows always give the same file.
/// Files are replaced atomically; an extraction in progress lives beside the output in
/// <c>&lt;out&gt;.partial/</c> (see <see cref="PartialPath"/>).
/// </summary>
public static class FeatureStore
{
    /// <summary>Rows per Parquet row group in finished stores.</summary>
    public const int RowGroupSize = 1024;

    /// <summary>The folder holding an unfinished extraction into <paramref name="outPath"/>.</summary>
    public static string PartialPath(string outPath) => Path.GetFullPath(outPath) + ".partial";

    /// <summary>Reads a whole store into memory.</summary>
    public static async Task<FeatureTable> ReadAsync(string path, CancellationToken ct = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var (reader, metadata) = await FeatureParquet.OpenAsync(path, ct).ConfigureAwait(false);
        await using (reader.ConfigureAwait(false))
        {
            var groups = new List<FeatureTable>();
            for (var g = 0; g < reader.RowGroupCount; g++)
                groups.Add(await FeatureParquet.ReadRowGroupAsync(reader, g, metadata.Dimension, path, ct).ConfigureAwait(false));
            return Concat(groups, metadata.Dimension);
        }
    }

    /// <summary>Reads the footer metadata (after checking the file's digest).</summary>
    internal static async Task<FeatureStoreMetadata> ReadMetadataAsync(string path, CancellationToken ct = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var (reader, metadata) = await FeatureParquet.OpenAsync(path, ct).ConfigureAwait(false);
        await reader.DisposeAsync().ConfigureAwait(false);
        return metadata;
    }

    /// <summary>Streams a store one row group at a time (for stores larger than memory).</summary>
    public static async IAsyncEnumerable<FeatureTable> ReadRowGroupsAsync(string path, [EnumeratorCancellation] CancellationToken ct = default)
    {
        var (reader, metadata) = await FeatureParquet.OpenAsync(path, ct).ConfigureAwait(false);
        await using (reader.ConfigureAwait(false))
        {
            for (var g = 0; g < reader.RowGroupCount; g++)
                yield return await FeatureParquet.ReadRowGroupAsync(reader, g, metadata.Dimension, path, ct).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Writes <paramref name="table"/> atomically, rows sorted by path. The metadata's dimension must match
    /// the table's; duplicate paths are an error.
    /// </summary>
    internal static Task WriteAsync(string path, FeatureTable table, FeatureStoreMetadata metadata, CancellationToken ct = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentNullException.ThrowIfNull(table);
        ArgumentNullException.ThrowIfNull(metadata);
        table.Validate();
        if (metadata.Dimension != table.Dimension)
            throw new ArgumentException($"metadata dimension {metadata.Dimension} differs from the table's {table.Dimension}.", nameof(metadata));
        var order = Enumerable.Range(0, table.Count).OrderBy(i => table.Paths[i], StringComparer.Ordinal).ToArray();
        for (var k = 1; k < order.Length; k++)
            if (table.Paths[order[k]] == table.Paths[order[k - 1]])
                throw new OnnxTransferException($"{path}: the id '{table.Paths[order[k]]}' appears twice in the table; ids must be unique.");
        return AtomicFile.WriteAsync(path, (stream, token) => WriteSortedAsync(stream, table, order, metadata, token), ct);
    }

    private static async Task WriteSortedAsync(Stream stream, FeatureTable table, int[] order, FeatureStoreMetadata metadata, CancellationToken ct)
    {
        var writer = await FeatureStoreWriter.CreateAsync(stream, metadata, ct).ConfigureAwait(false);
        await using var writerScope = writer.ConfigureAwait(false);
        var buffer = new SortedFeatureMerge.RowGroupBuffer(RowGroupSize, table.Dimension);
        foreach (var i in order)
        {
            buffer.Add(table, i);
            if (buffer.Count == RowGroupSize) await writer.WriteRowGroupAsync(buffer.TakeTable(), ct).ConfigureAwait(false);
        }
        if (buffer.Count > 0) await writer.WriteRowGroupAsync(buffer.TakeTable(), ct).ConfigureAwait(false);
    }

    /// <summary>
    /// Combines the shard part files of one extraction (<c>--shard i/N</c>) into <paramref name="outPath"/>:
    /// checks that every shard 0..N-1 is given exactly once with the same backbone, preprocessing and
    /// dataset listing, that every row lies in its part's shard and that no id is stored twice. The result
    /// equals what a single unsharded run writes.
    /// </summary>
    public static async Task<FeatureMergeSummary> MergeAsync(IReadOnlyList<string> parts, string outPath, IProgress<ProgressUpdate>? progress = null, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(parts);
        ArgumentException.ThrowIfNullOrEmpty(outPath);
        if (parts.Count == 0) throw new OnnxTransferException("merge: no part files given; pass every out.part-i-of-N.parquet.");
        var outFull = Path.GetFullPath(outPath);
        var seen = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var p in parts)
        {
            var full = Path.GetFullPath(p);
            if (full == outFull) throw new OnnxTransferException($"merge: the output {outPath} is also one of the parts; choose another --out.");
            if (!seen.TryAdd(full, p)) throw new OnnxTransferException($"merge: {p} is given twice; pass each part once.");
        }

        var sources = new SortedFeatureMerge.Source[parts.Count];
        for (var i = 0; i < sources.Length; i++) sources[i] = await SortedFeatureMerge.ScanAsync(parts[i], ct).ConfigureAwait(false);
        var first = sources[0];
        var byIndex = new Dictionary<int, SortedFeatureMerge.Source>();
        foreach (var s in sources)
        {
            if (s.Metadata.Shard is not { } shard)
                throw new OnnxTransferException($"merge: {s.File} is not a shard part (no {FeatureStoreMetadata.KeyPrefix}shard metadata); merge only the files written with --shard i/N.");
            if (shard.Count != first.Metadata.Shard!.Count)
                throw new OnnxTransferException($"merge: {s.File} is shard {shard} but {first.File} is shard {first.Metadata.Shard}; all parts must come from one run with the same N.");
            if (byIndex.TryGetValue(shard.Index, out var other))
                throw new OnnxTransferException($"merge: shard {shard} is given twice ({other.File} and {s.File}); pass each shard's part once.");
            byIndex[shard.Index] = s;
            if (first.Metadata.Difference(s.Metadata with { Shard = first.Metadata.Shard }) is { } diff)
                throw new OnnxTransferException($"merge: {s.File} does not match {first.File} ({diff}); merge only parts of one extraction.");
        }
        var count = first.Metadata.Shard!.Count;
        var missing = Enumerable.Range(0, count).Where(i => !byIndex.ContainsKey(i)).ToArray();
        if (missing.Length > 0)
            throw new OnnxTransferException($"merge: {missing.Length} of {count} parts missing: {string.Join(", ", missing.Take(5).Select(i => new Shard(i, count).PartPath(Path.GetFileName(outPath))))}{(missing.Length > 5 ? ", ..." : "")}; run those shards first (their extraction resumes).");

        var dimension = sources.Max(s => s.Metadata.Dimension);
        var metadata = first.Metadata with { Shard = null, Dimension = dimension, Tool = ToolInfo.NameAndVersion };
        var rows = await SortedFeatureMerge.WriteAsync(outPath, sources, metadata, RowGroupSize, progress, "merge", (source, id) =>
        {
            var shard = source.Metadata.Shard!;
            if (!shard.Contains(id))
                throw new OnnxTransferException($"merge: {source.File} (shard {shard}) holds '{id}', which belongs to shard {Shard.Of(id, shard.Count)}; the part was written with a different sharding — re-extract it.");
        }, ct).ConfigureAwait(false);
        return new FeatureMergeSummary(outPath, parts.Count, rows);
    }

    internal static FeatureTable Concat(IReadOnlyList<FeatureTable> tables, int dimension)
    {
        var n = tables.Sum(t => t.Count);
        var features = new float[(long)n * dimension];
        var offset = 0;
        foreach (var t in tables)
        {
            t.Features.AsSpan(0, t.Count * dimension).CopyTo(features.AsSpan(offset));
            offset += t.Count * dimension;
        }
        return new FeatureTable(tables.SelectMany(t => t.Paths).ToArray(), tables.SelectMany(t => t.Labels).ToArray(),
            tables.SelectMany(t => t.Splits).ToArray(), features, dimension);
    }
}
