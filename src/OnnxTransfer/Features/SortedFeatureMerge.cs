using Parquet;

namespace OnnxTransfer.Features;

/// <summary>
/// Writes the union of several feature files, each sorted by id, as one file sorted by id in row groups of a
/// fixed size: a k-way merge that reads each source a row group at a time and opens it only when its turn
/// comes, so memory stays at a few row groups however large the store. Because the output depends only on
/// the set of rows, an interrupted-then-resumed run, a sharded-then-merged run and a single run give the
/// same file. Two rows with one id are an error.
/// </summary>
internal static class SortedFeatureMerge
{
    /// <summary>A source file's rows, scanned up front (ids only).</summary>
    public sealed class Source(string file, FeatureStoreMetadata metadata, string[] ids)
    {
        public string File { get; } = file;
        public FeatureStoreMetadata Metadata { get; } = metadata;
        public string[] Ids { get; } = ids;

        private ParquetReader? _reader;
        private int _group = -1;
        private FeatureTable? _table;
        private int _row;

        public FeatureTable Table => _table!;
        public bool IsOpen => _table is not null;
        public int Row => _row;
        public string Head => _table is null ? Ids[0] : _table.Paths[_row];

        public async Task<bool> MoveNextAsync(int dimension, CancellationToken ct)
        {
            var previous = _table is null ? null : _table.Paths[_row];
            if (_table is not null && ++_row < _table.Count) return Check(previous);
            if (_reader is null)
                (_reader, _) = await FeatureParquet.OpenAsync(File, ct).ConfigureAwait(false);
            while (++_group < _reader.RowGroupCount)
            {
                _table = await FeatureParquet.ReadRowGroupAsync(_reader, _group, dimension, File, ct).ConfigureAwait(false);
                _row = 0;
                if (_table.Count > 0) return Check(previous);
            }
            await _reader.DisposeAsync().ConfigureAwait(false);
            _reader = null;
            _table = null;
            return false;
        }

        private bool Check(string? previous)
        {
            if (previous is not null && string.CompareOrdinal(previous, _table!.Paths[_row]) >= 0)
                throw new OnnxTransferException(previous == _table.Paths[_row]
                    ? $"{File}: the id '{previous}' appears twice; the file is damaged, re-extract it."
                    : $"{File}: rows are not sorted by path ('{previous}' before '{_table.Paths[_row]}'); only files written by onnxtransfer can be merged.");
            return true;
        }

        public async ValueTask CloseAsync()
        {
            if (_reader is not null) await _reader.DisposeAsync().ConfigureAwait(false);
            _reader = null;
        }
    }

    /// <summary>Reads a file's metadata and ids (the <c>path</c> column only).</summary>
    public static async Task<Source> ScanAsync(string file, CancellationToken ct)
    {
        var (reader, metadata) = await FeatureParquet.OpenAsync(file, ct).ConfigureAwait(false);
        await using (reader.ConfigureAwait(false))
        {
            var ids = new List<string>();
            for (var g = 0; g < reader.RowGroupCount; g++)
                ids.AddRange(await FeatureParquet.ReadIdsAsync(reader, g, file, ct).ConfigureAwait(false));
            return new Source(file, metadata, ids.ToArray());
        }
    }

    /// <summary>
    /// Writes the merged rows of <paramref name="sources"/> to <paramref name="output"/> (atomically).
    /// <paramref name="checkRow"/> may reject a row (source, id) with an exception.
    /// </summary>
    public static async Task<long> WriteAsync(string output, IReadOnlyList<Source> sources, FeatureStoreMetadata metadata, int rowGroupSize,
        IProgress<ProgressUpdate>? progress, string stage, Action<Source, string>? checkRow, CancellationToken ct)
    {
        var total = sources.Sum(s => (long)s.Ids.Length);
        long written = 0;
        await AtomicFile.WriteAsync(output, async (stream, token) =>
            written = await WriteAsync(stream, sources, metadata, rowGroupSize, total, progress, stage, checkRow, token).ConfigureAwait(false), ct).ConfigureAwait(false);
        return written;
    }

    private static async Task<long> WriteAsync(Stream stream, IReadOnlyList<Source> sources, FeatureStoreMetadata metadata, int rowGroupSize,
        long total, IProgress<ProgressUpdate>? progress, string stage, Action<Source, string>? checkRow, CancellationToken ct)
    {
        var dim = metadata.Dimension;
        var buffer = new RowGroupBuffer(rowGroupSize, dim);
        var queue = new PriorityQueue<Source, string>(StringComparer.Ordinal);
        foreach (var s in sources.Where(s => s.Ids.Length > 0)) queue.Enqueue(s, s.Ids[0]);
        long written = 0;
        string? lastId = null;
        Source? lastSource = null;
        try
        {
            var writer = await FeatureStoreWriter.CreateAsync(stream, metadata, ct).ConfigureAwait(false);
            await using var writerScope = writer.ConfigureAwait(false);
            while (queue.TryDequeue(out var source, out var id))
            {
                ct.ThrowIfCancellationRequested();
                if (!source.IsOpen)
                {
                    if (!await source.MoveNextAsync(dim, ct).ConfigureAwait(false) || source.Head != id)
                        throw new OnnxTransferException($"{source.File}: changed while being merged; run the merge again.");
                }
                if (lastId == id)
                    throw new OnnxTransferException(lastSource == source
                        ? $"{source.File}: the id '{id}' appears twice; the file is damaged, re-extract it."
                        : $"the id '{id}' is stored twice, in {lastSource!.File} and {source.File}; a part was given twice or the parts overlap — merge each shard's part exactly once.");
                checkRow?.Invoke(source, id);
                buffer.Add(source.Table, source.Row);
                lastId = id;
                lastSource = source;
                if (await source.MoveNextAsync(dim, ct).ConfigureAwait(false)) queue.Enqueue(source, source.Head);
                if (buffer.Count == rowGroupSize)
                {
                    await writer.WriteRowGroupAsync(buffer.TakeTable(), ct).ConfigureAwait(false);
                    written += rowGroupSize;
                    progress?.Report(new ProgressUpdate(stage, written, total, "rows"));
                }
            }
            if (buffer.Count > 0)
            {
                written += buffer.Count;
                await writer.WriteRowGroupAsync(buffer.TakeTable(), ct).ConfigureAwait(false);
            }
            progress?.Report(new ProgressUpdate(stage, written, total, "rows"));
            return written;
        }
        finally
        {
            foreach (var s in sources) await s.CloseAsync().ConfigureAwait(false);
        }
    }

    /// <summary>Rows gathered for the next row group.</summary>
    internal sealed class RowGroupBuffer(int capacity, int dimension)
    {
        private readonly List<string> _paths = new(capacity), _labels = new(capacity), _splits = new(capacity);
        private float[] _features = new float[(long)capacity * dimension];

        public int Count => _paths.Count;

        public void Add(FeatureTable table, int row)
        {
            if (table.Dimension != dimension)
                throw new OnnxTransferException($"feature dimension {table.Dimension} where {dimension} was expected; stores of different backbones cannot be combined.");
            table.Row(row).CopyTo(_features.AsSpan(_paths.Count * dimension, dimension));
            _paths.Add(table.Paths[row]);
            _labels.Add(table.Labels[row]);
            _splits.Add(table.Splits[row]);
        }

        public FeatureTable TakeTable()
        {
            var n = _paths.Count;
            var features = n == capacity ? _features : _features.AsSpan(0, n * dimension).ToArray();
            var table = new FeatureTable(_paths.ToArray(), _labels.ToArray(), _splits.ToArray(), features, dimension);
            _paths.Clear(); _labels.Clear(); _splits.Clear();
            if (n == capacity) _features = new float[(long)capacity * dimension];
            return table;
        }
    }
}
