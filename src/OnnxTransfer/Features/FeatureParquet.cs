using System.Buffers.Binary;
using System.Security.Cryptography;
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

    /// <summary>Footer key of the digest: SHA-256 of the bytes before the footer, then of the other metadata.</summary>
    public const string DigestKey = FeatureStoreMetadata.KeyPrefix + "sha256";

    /// <summary>Completes <paramref name="dataHash"/> (the bytes before the footer) with the metadata and returns it as hex.</summary>
    public static string Digest(IncrementalHash dataHash, IReadOnlyDictionary<string, string> metadata)
    {
        foreach (var (key, value) in metadata.Where(p => p.Key != DigestKey).OrderBy(p => p.Key, StringComparer.Ordinal))
            dataHash.AppendData(Encoding.UTF8.GetBytes($"{key}\0{value}\n"));
        return Convert.ToHexStringLower(dataHash.GetHashAndReset());
    }

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
        await rg.WriteAsync(PathField, table.Paths, null);
        await rg.WriteAsync(LabelField, table.Labels, null);
        await rg.WriteAsync(SplitField, table.Splits, null);
        await rg.WriteAllPartsAsync<float>(ElementField, values, def, rep, ct);
        rg.CompleteValidate();
    }

    /// <summary>Opens a store for reading; unreadable files become one-line errors naming the file.</summary>
    /// <param name="path">The store.</param>
    /// <param name="ct">Cancels.</param>
    /// <param name="verify">Check the digest (reads the whole file once); false only to read the footer metadata.</param>
    public static async Task<(ParquetReader Reader, FeatureStoreMetadata Metadata)> OpenAsync(string path, CancellationToken ct, bool verify = true)
    {
        if (!File.Exists(path))
            throw new OnnxTransferException($"{path}: feature store not found; check the path or run extraction first.");
        ParquetReader reader;
        try
        {
            reader = await ParquetReader.CreateAsync(path, null, ct);
        }
        catch (Exception e) when (e is IOException or ParquetException or InvalidDataException or ArgumentException or InvalidOperationException or NotSupportedException)
        {
            throw new OnnxTransferException($"{path}: not a readable Parquet file ({OneLine(e.Message)}); it may be truncated — re-run extraction (it resumes) or delete it.", e);
        }
        try
        {
            var keyValues = reader.CustomMetadata ?? new Dictionary<string, string>();
            if (verify) Verify(path, keyValues);
            var metadata = FeatureStoreMetadata.FromKeyValues(keyValues, path);
            var names = reader.Schema.GetDataFields().Select(f => f.Path.ToString()).ToArray();
            if (names.Length != 4 || names[0] != "path" || names[1] != "label" || names[2] != "split" || !names[3].StartsWith("features", StringComparison.Ordinal))
                throw new OnnxTransferException($"{path}: unexpected columns ({string.Join(", ", names)}); expected path, label, split, features.");
            return (reader, metadata);
        }
        catch
        {
            await reader.DisposeAsync();
            throw;
        }
    }

    /// <summary>Reads only the <c>path</c> column of row group <paramref name="index"/>.</summary>
    public static async Task<string[]> ReadIdsAsync(ParquetReader reader, int index, string file, CancellationToken ct)
    {
        using var rg = reader.OpenRowGroupReader(index);
        var ids = new string?[rg.RowCount];
        await Guard(file, async () => await rg.ReadAsync(reader.Schema.DataFields[0], ids.AsMemory(), null, ct));
        return ids.Select(s => s ?? "").ToArray();
    }

    /// <summary>Reads row group <paramref name="index"/> as a table, checking every row has <paramref name="dimension"/> values.</summary>
    public static async Task<FeatureTable> ReadRowGroupAsync(ParquetReader reader, int index, int dimension, string file, CancellationToken ct)
    {
        using var rg = reader.OpenRowGroupReader(index);
        var n = checked((int)rg.RowCount);
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
        await Guard(file, async () =>
        {
            await rg.ReadAsync(fields[0], paths.AsMemory(), null, ct);
            await rg.ReadAsync(fields[1], labels.AsMemory(), null, ct);
            await rg.ReadAsync(fields[2], splits.AsMemory(), null, ct);
            await rg.ReadRawAsync<float>(leaf, values.AsMemory(), def.AsMemory(), rep.AsMemory(), ct);
        });
        for (var i = 0; i < rep.Length; i++)
            if ((rep[i] == 0) != (i % dimension == 0) || def[i] != leaf.MaxDefinitionLevel)
                throw new OnnxTransferException($"{file}: row {i / dimension} of row group {index} does not hold exactly {dimension} non-null features; the file is damaged, re-extract it.");
        return new FeatureTable(Strings(paths), Strings(labels), Strings(splits), values, dimension);
    }

    // Stores written before digests existed have no digest key and are read unchecked.
    private static void Verify(string path, IReadOnlyDictionary<string, string> keyValues)
    {
        if (!keyValues.TryGetValue(DigestKey, out var expected)) return;
        string actual;
        try
        {
            using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
            Span<byte> tail = stackalloc byte[8];
            file.Position = file.Length - 8;
            file.ReadExactly(tail);
            var footer = BinaryPrimitives.ReadInt32LittleEndian(tail);
            var dataLength = file.Length - 8 - footer;
            if (footer < 0 || dataLength < 4) actual = "";
            else
            {
                using var hash = FileDigest.HashPrefix(file, dataLength);
                actual = Digest(hash, keyValues);
            }
        }
        catch (IOException e)
        {
            throw new OnnxTransferException($"{path}: cannot read the file to check it ({OneLine(e.Message)}); check the disk and permissions.", e);
        }
        if (actual != expected)
            throw new OnnxTransferException($"{path}: checksum mismatch, the file was damaged after it was written (bad disk, copy or edit); re-extract it or restore it from a good copy.");
    }

    private static string[] Strings(string?[] s) => Array.ConvertAll(s, v => v ?? "");

    private static async Task Guard(string file, Func<Task> read)
    {
        try { await read(); }
        catch (Exception e) when (e is IOException or ParquetException or InvalidDataException or ArgumentException or InvalidOperationException or IndexOutOfRangeException)
        {
            throw new OnnxTransferException($"{file}: cannot read the feature data ({OneLine(e.Message)}); the file is damaged, re-extract it.", e);
        }
    }

    public static string OneLine(string s) => s.ReplaceLineEndings(" ").Trim();
}
