using System.Text;
using Parquet;
using Parquet.Schema;

namespace OnnxTransfer.Features;

/// <summary>
/// The Parquet layout of a feature store: columns <c>path</c>, <c>label</c>, <c>split</c> (UTF-8 strings) and
/// <c>features</c> (a standard LIST of float32, read as <c>list&lt;float&gt;</c> / <c>FLOAT[]</c> by Arrow,
/// pandas, Spark and DuckDB), one row per item, plus <see cref="FeatureStoreMetadata"/> and a SHA-256 digest
/// (<see cref="DigestKey"/>, written by <see cref="FeatureStoreWriter"/>) in the footer.
/// </summary>
internal static class FeatureParquet
{
    private static readonly DataField<string> PathField = new("path", false);
    private static readonly DataField<string> LabelField = new("label", false);
    private static readonly DataField<string> SplitField = new("split", false);
    private static readonly DataField<float> ElementField = new("element", false);

    public static readonly ParquetSchema Schema = new(PathField, LabelField, SplitField, new ListField("features", ElementField));

    /// <summary>Footer key of the digest: SHA-256 of the whole file with the digest itself read as <see cref="DigestPlaceholder"/>.</summary>
    public const string DigestKey = FeatureStoreMetadata.KeyPrefix + "sha256";

    /// <summary>What the digest's 64 characters count as while hashing.</summary>
    public static readonly string DigestPlaceholder = new('0', 64);

    /// <summary>Writes one row group. <paramref name="table"/> must be non-empty.</summary>
    public static async Task WriteRowGroupAsync(ParquetWriter writer, FeatureTable table, CancellationToken ct)
    {
        var n = table.Count;
        var dim = table.Dimension;
        var values = table.Features.Length == n * dim ? table.Features.AsMemory() : table.Features.AsMemory(0, n * dim);
        // A full definition level for every element (list and element present); repetition 0 starts a row.
        var def = new int[n * dim];
        Array.Fill(def, ElementField.MaxDefinitionLevel);
        var rep = new int[n * dim];
        for (var i = 0; i < rep.Length; i++) rep[i] = i % dim == 0 ? 0 : 1;
        using var rg = writer.CreateRowGroup();
        await rg.WriteAsync(PathField, table.Paths, null).ConfigureAwait(false);
        await rg.WriteAsync(LabelField, table.Labels, null).ConfigureAwait(false);
        await rg.WriteAsync(SplitField, table.Splits, null).ConfigureAwait(false);
        await rg.WriteAllPartsAsync<float>(ElementField, values, def, rep, ct).ConfigureAwait(false);
        rg.CompleteValidate();
    }

    /// <summary>Opens a store for reading; unreadable files become one-line errors naming the file.</summary>
    /// <remarks>
    /// The digest is checked on the raw bytes before the Parquet reader parses anything: a damaged footer can send
    /// the reader's Thrift decoder into a practically endless loop.
    /// </remarks>
    public static async Task<(ParquetReader Reader, FeatureStoreMetadata Metadata)> OpenAsync(string path, CancellationToken ct)
    {
        if (!File.Exists(path))
            throw new OnnxTransferException($"{path}: feature store not found; check the path or run extraction first.");
        Verify(path);
        ParquetReader reader;
        try
        {
            reader = await ParquetReader.CreateAsync(path, null, ct).ConfigureAwait(false);
        }
        catch (Exception e) when (IsDamage(e))
        {
            throw new OnnxTransferException($"{path}: not a readable Parquet file ({OneLine(e.Message)}); it may be truncated — re-run extraction (it resumes) or delete it.", e);
        }
        try
        {
            var keyValues = reader.CustomMetadata ?? new Dictionary<string, string>();
            var metadata = FeatureStoreMetadata.FromKeyValues(keyValues, path);
            var names = reader.Schema.GetDataFields().Select(f => f.Path.ToString()).ToArray();
            if (names.Length != 4 || names[0] != "path" || names[1] != "label" || names[2] != "split" || !names[3].StartsWith("features", StringComparison.Ordinal))
                throw new OnnxTransferException($"{path}: unexpected columns ({string.Join(", ", names)}); expected path, label, split, features.");
            // Same names but other types or nullability: a damaged footer (the digest does not cover the schema).
            if (!reader.Schema.Equals(Schema))
                throw new OnnxTransferException($"{path}: the columns' types differ from a feature store's ({OneLine(reader.Schema.GetNotEqualsMessage(Schema, "file", "expected"))}); the file is damaged, re-extract it.");
            return (reader, metadata);
        }
        catch (Exception e) when (IsDamage(e))
        {
            await reader.DisposeAsync().ConfigureAwait(false);
            throw new OnnxTransferException($"{path}: the Parquet footer is unreadable ({OneLine(e.Message)}); the file is damaged, re-extract it.", e);
        }
        catch
        {
            await reader.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>Reads only the <c>path</c> column of row group <paramref name="index"/>.</summary>
    public static Task<string[]> ReadIdsAsync(ParquetReader reader, int index, string file, CancellationToken ct) => Guard(file, async () =>
    {
        using var rg = reader.OpenRowGroupReader(index);
        if (rg.RowCount < 0 || rg.RowCount > new FileInfo(file).Length)
            throw new OnnxTransferException($"{file}: row group {index} declares {rg.RowCount} rows, impossible for the file's size; the file is damaged, re-extract it.");
        var ids = new string?[rg.RowCount];
        await rg.ReadAsync(reader.Schema.DataFields[0], ids.AsMemory(), null, ct).ConfigureAwait(false);
        return Strings(ids);
    });

    /// <summary>Reads row group <paramref name="index"/> as a table, checking every row has <paramref name="dimension"/> values.</summary>
    public static Task<FeatureTable> ReadRowGroupAsync(ParquetReader reader, int index, int dimension, string file, CancellationToken ct) =>
        Guard(file, () => ReadRowGroupUnguardedAsync(reader, index, dimension, file, ct));

    private static async Task<FeatureTable> ReadRowGroupUnguardedAsync(ParquetReader reader, int index, int dimension, string file, CancellationToken ct)
    {
        using var rg = reader.OpenRowGroupReader(index);
        // Every row takes bytes in the file: a larger count is a damaged footer, not an array to allocate.
        if (rg.RowCount < 0 || rg.RowCount > new FileInfo(file).Length)
            throw new OnnxTransferException($"{file}: row group {index} declares {rg.RowCount} rows, impossible for the file's size; the file is damaged, re-extract it.");
        var n = (int)rg.RowCount;
        var fields = reader.Schema.DataFields;
        var paths = new string?[n];
        var labels = new string?[n];
        var splits = new string?[n];
        var leaf = reader.Schema.GetDataFields()[3];
        var count = rg.GetMetadata(leaf)?.MetaData?.NumValues ?? -1;
        if (count != (long)n * dimension)
            throw new OnnxTransferException($"{file}: row group {index} holds {count} feature values for {n} rows of dimension {dimension}; the file is damaged, re-extract it.");
        var values = new float[count];
        var def = new int[count];
        var rep = new int[count];
        await rg.ReadAsync(fields[0], paths.AsMemory(), null, ct).ConfigureAwait(false);
        await rg.ReadAsync(fields[1], labels.AsMemory(), null, ct).ConfigureAwait(false);
        await rg.ReadAsync(fields[2], splits.AsMemory(), null, ct).ConfigureAwait(false);
        await rg.ReadRawAsync<float>(leaf, values.AsMemory(), def.AsMemory(), rep.AsMemory(), ct).ConfigureAwait(false);
        for (var i = 0; i < rep.Length; i++)
            if ((rep[i] == 0) != (i % dimension == 0) || def[i] != leaf.MaxDefinitionLevel)
                throw new OnnxTransferException($"{file}: row {i / dimension} of row group {index} does not hold exactly {dimension} non-null features; the file is damaged, re-extract it.");
        return new FeatureTable(Strings(paths), Strings(labels), Strings(splits), values, dimension);
    }

    // Stores written before digests existed have no digest and are read unchecked.
    private static void Verify(string path)
    {
        bool ok;
        try
        {
            using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
            ok = Matches(file);
        }
        catch (IOException e)
        {
            throw new OnnxTransferException($"{path}: cannot read the file to check it ({OneLine(e.Message)}); check the disk and permissions.", e);
        }
        if (!ok)
            throw new OnnxTransferException($"{path}: checksum mismatch, the file was damaged after it was written (bad disk, copy or edit); re-extract it or restore it from a good copy.");
    }

    // In Parquet.Net's Thrift compact encoding the digest entry is the key, a field header (0x18: field 2, binary),
    // the length 64 (0x40) and 64 hex characters. It is looked for near the end of the file (the key-value metadata
    // ends the footer), not through the footer length, which may be the damaged byte. The file is then hashed with
    // those characters read as the placeholder.
    private static bool Matches(FileStream file)
    {
        var key = Encoding.ASCII.GetBytes(DigestKey);
        var tail = new byte[Math.Min(file.Length, 64 << 10)];
        var tailStart = file.Length - tail.Length;
        file.Position = tailStart;
        file.ReadExactly(tail);
        var entry = tail.AsSpan().LastIndexOf(key);
        if (entry < 0) return true;  // written before digests, or not a feature store: the reader decides
        var at = entry + key.Length + 2;
        if (at + DigestPlaceholder.Length > tail.Length || tail[at - 2] != 0x18 || tail[at - 1] != 0x40) return false;
        var expected = Encoding.ASCII.GetString(tail, at, DigestPlaceholder.Length);
        using var hash = FileDigest.HashPrefix(file, tailStart + at);
        hash.AppendData(Encoding.ASCII.GetBytes(DigestPlaceholder));
        file.Position = tailStart + at + DigestPlaceholder.Length;
        FileDigest.Append(hash, file, file.Length - file.Position);
        return Convert.ToHexStringLower(hash.GetHashAndReset()) == expected;
    }

    // Feature stores never hold nulls (the columns are required); one means a damaged file.
    private static string[] Strings(string?[] s) =>
        Array.ConvertAll(s, v => v ?? throw new InvalidDataException("a null in a required text column"));

    private static async Task<T> Guard<T>(string file, Func<Task<T>> read)
    {
        try { return await read().ConfigureAwait(false); }
        catch (Exception e) when (IsDamage(e))
        {
            throw new OnnxTransferException($"{file}: cannot read the feature data ({OneLine(e.Message)}); the file is damaged, re-extract it.", e);
        }
    }

    // Whatever the Parquet reader throws on a damaged file (its Thrift decoder has its own exception types).
    private static bool IsDamage(Exception e) => e is not (OperationCanceledException or OnnxTransferException or OutOfMemoryException);

    public static string OneLine(string s) => s.ReplaceLineEndings(" ").Trim();
}
