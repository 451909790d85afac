using System.Text.Json;

namespace OnnxTransfer.Features;

/// <summary>
/// An extraction in progress: the folder <c>&lt;out&gt;.partial/</c> with <c>metadata.json</c> and numbered
/// chunk files (<c>chunk-000001.parquet</c>, ...), each a complete Parquet file sorted by id and written
/// atomically. A crash, Ctrl-C or SIGKILL loses at most the rows not yet in a chunk; reopening finds the
/// stored ids so the run resumes. A lock file keeps two processes from writing one folder.
/// </summary>
internal sealed class PartialFeatureStore : IDisposable
{
    private const string MetadataFile = "metadata.json";
    private readonly FileStream _lock;
    private readonly List<SortedFeatureMerge.Source> _chunks = [];
    private int _nextChunk;

    private PartialFeatureStore(string folder, FileStream lockFile, FeatureStoreMetadata metadata)
    {
        Folder = folder;
        _lock = lockFile;
        Metadata = metadata;
    }

    public string Folder { get; }

    /// <summary>The run's metadata (dimension as stored chunks have it, or 0 before the first chunk).</summary>
    public FeatureStoreMetadata Metadata { get; private set; }

    /// <summary>Ids stored in chunks.</summary>
    public HashSet<string> StoredIds { get; } = new(StringComparer.Ordinal);

    /// <summary>Chunk files found damaged on opening and deleted (their items are extracted again).</summary>
    public int DiscardedChunks { get; private set; }

    /// <summary>The stored chunks, ready for <see cref="SortedFeatureMerge"/>.</summary>
    public IReadOnlyList<SortedFeatureMerge.Source> Chunks => _chunks;

    /// <summary>
    /// Opens or creates the partial folder of <paramref name="outPath"/> for a run described by <paramref name="metadata"/>;
    /// <paramref name="discard"/> drops an unfinished run's chunks (once the lock is held) to start over.
    /// </summary>
    public static async Task<PartialFeatureStore> OpenAsync(string outPath, FeatureStoreMetadata metadata, bool discard, CancellationToken ct)
    {
        var folder = FeatureStore.PartialPath(outPath);
        Directory.CreateDirectory(folder);
        var lockFile = OutputLock.Open(Path.Combine(folder, "lock"), outPath);
        var store = new PartialFeatureStore(folder, lockFile, metadata);
        try
        {
            if (discard) store.Discard();
            await store.LoadAsync(outPath, ct).ConfigureAwait(false);
            return store;
        }
        catch
        {
            store.Dispose();
            throw;
        }
    }

    private async Task LoadAsync(string outPath, CancellationToken ct)
    {
        var metaPath = Path.Combine(Folder, MetadataFile);
        if (File.Exists(metaPath))
        {
            FeatureStoreMetadata stored;
            try
            {
                var kv = JsonText.Read(File.ReadAllText(metaPath), FeaturesJson.Default.DictionaryStringString) ?? [];
                stored = FeatureStoreMetadata.FromKeyValues(kv, metaPath);
            }
            catch (JsonException e)
            {
                throw new OnnxTransferException($"{metaPath}: unreadable ({e.Message}); delete {Folder} to start over.", e);
            }
            Mismatch(outPath, stored);
        }
        else
        {
            AtomicFile.WriteText(metaPath, JsonText.Write((Metadata with { Dimension = 0 }).ToKeyValues(), FeaturesJson.Default.DictionaryStringString));
        }

        foreach (var stray in Directory.EnumerateFiles(Folder, ".*.tmp")) TryDelete(stray);
        foreach (var chunk in Directory.EnumerateFiles(Folder, "chunk-*.parquet").Order(StringComparer.Ordinal))
        {
            ct.ThrowIfCancellationRequested();
            _nextChunk = Math.Max(_nextChunk, ChunkNumber(chunk));
            SortedFeatureMerge.Source source;
            try
            {
                source = await SortedFeatureMerge.ScanAsync(chunk, ct).ConfigureAwait(false);
            }
            catch (OnnxTransferException)
            {
                // Chunks are written by rename, so only outside damage (a bad copy, disk errors) gets here;
                // its rows are simply extracted again.
                TryDelete(chunk);
                DiscardedChunks++;
                continue;
            }
            Mismatch(outPath, source.Metadata);
            if (Metadata.Dimension != 0 && source.Metadata.Dimension != Metadata.Dimension)
                throw new OnnxTransferException($"{chunk}: dimension {source.Metadata.Dimension} differs from other chunks ({Metadata.Dimension}); delete {Folder} to start over.");
            Metadata = Metadata with { Dimension = source.Metadata.Dimension };
            foreach (var id in source.Ids)
                if (!StoredIds.Add(id))
                    throw new OnnxTransferException($"{chunk}: the id '{id}' is stored twice in {Folder}; delete the folder to start over.");
            _chunks.Add(source);
        }
    }

    private void Mismatch(string outPath, FeatureStoreMetadata stored)
    {
        if (Metadata.Difference(stored) is { } diff)
            throw new OnnxTransferException($"{outPath}: an unfinished extraction with other settings is in {Folder} ({diff}); delete that folder to start over, or use another --out.");
    }

    private void Discard()
    {
        foreach (var file in Directory.EnumerateFiles(Folder).Where(f => Path.GetFileName(f) != "lock")) TryDelete(file);
    }

    /// <summary>Writes <paramref name="rows"/> as the next chunk (sorted by id), atomically.</summary>
    public async Task WriteChunkAsync(FeatureTable rows, CancellationToken ct)
    {
        if (rows.Count == 0) return;
        if (Metadata.Dimension == 0) Metadata = Metadata with { Dimension = rows.Dimension };
        else if (Metadata.Dimension != rows.Dimension)
            throw new OnnxTransferException($"the model gives {rows.Dimension} features per item but {Folder} holds {Metadata.Dimension}; delete that folder to start over, or use another --out.");
        var path = Path.Combine(Folder, $"chunk-{++_nextChunk:D6}.parquet");
        await FeatureStore.WriteAsync(path, rows, Metadata, ct).ConfigureAwait(false);
        foreach (var id in rows.Paths) StoredIds.Add(id);
        _chunks.Add(new SortedFeatureMerge.Source(path, Metadata, rows.Paths.Order(StringComparer.Ordinal).ToArray()));
    }

    /// <summary>Removes the folder (after the final file is in place).</summary>
    public void Delete()
    {
        Dispose();
        try { Directory.Delete(Folder, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }

    private static int ChunkNumber(string file) =>
        int.TryParse(Path.GetFileNameWithoutExtension(file).AsSpan("chunk-".Length), out var n) ? n : 0;

    private static void TryDelete(string file)
    {
        try { File.Delete(file); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }

    public void Dispose() => _lock.Dispose();
}
