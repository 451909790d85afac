using System.Text;
using Parquet;

namespace OnnxTransfer.Features;

/// <summary>
/// Writes one feature store file: row groups through <see cref="FeatureParquet.WriteRowGroupAsync"/>, then the footer
/// with the metadata and a SHA-256 of the whole file (<see cref="FeatureParquet.DigestKey"/>), computed with the
/// digest's own 64 characters as zeros and then written over them, so every other byte of the file, footer included,
/// is covered; <see cref="FeatureParquet.OpenAsync"/> checks it. Parquet.Net neither writes nor checks page CRCs,
/// hence the toolkit's own digest. The output stream must be seekable.
/// </summary>
internal sealed class FeatureStoreWriter : IAsyncDisposable
{
    private readonly Stream _output;
    private readonly FileDigest.HashingStream _stream;
    private readonly ParquetWriter _writer;
    private readonly Dictionary<string, string> _metadata;

    private FeatureStoreWriter(Stream output, FileDigest.HashingStream stream, ParquetWriter writer, Dictionary<string, string> metadata)
    {
        _output = output;
        _stream = stream;
        _writer = writer;
        _metadata = metadata;
    }

    public static async Task<FeatureStoreWriter> CreateAsync(Stream output, FeatureStoreMetadata metadata, CancellationToken ct)
    {
        var stream = new FileDigest.HashingStream(output);
        var writer = await ParquetWriter.CreateAsync(FeatureParquet.Schema, stream, null, false, ct).ConfigureAwait(false);
        return new FeatureStoreWriter(output, stream, writer, metadata.ToKeyValues());
    }

    public Task WriteRowGroupAsync(FeatureTable table, CancellationToken ct) => FeatureParquet.WriteRowGroupAsync(_writer, table, ct);

    /// <summary>Writes the footer, then the digest over its placeholder.</summary>
    public async ValueTask DisposeAsync()
    {
        _writer.CustomMetadata = new Dictionary<string, string>(_metadata, StringComparer.Ordinal) { [FeatureParquet.DigestKey] = FeatureParquet.DigestPlaceholder };
        await _stream.FlushAsync().ConfigureAwait(false);
        var footerStart = _stream.Position;
        _stream.StartCapture();
        await _writer.DisposeAsync().ConfigureAwait(false);
        await _stream.FlushAsync().ConfigureAwait(false);
        var at = _stream.Captured.IndexOf(Encoding.ASCII.GetBytes(FeatureParquet.DigestPlaceholder));
        if (at < 0) throw new InvalidOperationException("the digest placeholder is missing from the Parquet footer");
        var digest = Convert.ToHexStringLower(_stream.Hash.GetHashAndReset());
        var end = _output.Position;
        _output.Position = footerStart + at;
        _output.Write(Encoding.ASCII.GetBytes(digest));
        _output.Position = end;
        await _stream.DisposeAsync().ConfigureAwait(false);
    }
}
