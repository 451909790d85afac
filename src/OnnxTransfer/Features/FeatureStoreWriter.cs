using Parquet;

namespace OnnxTransfer.Features;

/// <summary>
/// Writes one feature store file: row groups through <see cref="FeatureParquet.WriteRowGroupAsync"/>, then a footer
/// whose metadata carries a SHA-256 of every byte before the footer plus the other metadata
/// (<see cref="FeatureParquet.DigestKey"/>), which <see cref="FeatureParquet.OpenAsync"/> checks. Parquet.Net
/// neither writes nor checks page CRCs, hence the toolkit's own digest.
/// </summary>
internal sealed class FeatureStoreWriter : IAsyncDisposable
{
    private readonly FileDigest.HashingStream _stream;
    private readonly ParquetWriter _writer;
    private readonly Dictionary<string, string> _metadata;

    private FeatureStoreWriter(FileDigest.HashingStream stream, ParquetWriter writer, Dictionary<string, string> metadata)
    {
        _stream = stream;
        _writer = writer;
        _metadata = metadata;
    }

    public static async Task<FeatureStoreWriter> CreateAsync(Stream output, FeatureStoreMetadata metadata, CancellationToken ct)
    {
        var stream = new FileDigest.HashingStream(output);
        var writer = await ParquetWriter.CreateAsync(FeatureParquet.Schema, stream, null, false, ct);
        return new FeatureStoreWriter(stream, writer, metadata.ToKeyValues());
    }

    public Task WriteRowGroupAsync(FeatureTable table, CancellationToken ct) => FeatureParquet.WriteRowGroupAsync(_writer, table, ct);

    /// <summary>Seals the file: the digest goes into the footer metadata, written when the Parquet writer closes.</summary>
    public async ValueTask DisposeAsync()
    {
        await _stream.FlushAsync();
        var kv = new Dictionary<string, string>(_metadata, StringComparer.Ordinal)
        {
            [FeatureParquet.DigestKey] = FeatureParquet.Digest(_stream.Hash, _metadata),
        };
        _writer.CustomMetadata = kv;
        await _writer.DisposeAsync();
        await _stream.DisposeAsync();
    }
}
