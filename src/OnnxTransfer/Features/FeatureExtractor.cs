using System.Buffers;
using System.Diagnostics;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.ML.OnnxRuntime;
using OnnxTransfer.Data;

namespace OnnxTransfer.Features;

/// <summary>Settings of a <see cref="FeatureExtractor"/> run.</summary>
public sealed record FeatureExtractionOptions
{
    /// <summary>Items per inference call.</summary>
    public int BatchSize { get; init; } = 32;

    /// <summary>Decode workers running <see cref="ISampleEncoder.Encode"/> in parallel.</summary>
    public int Threads { get; init; } = Environment.ProcessorCount;

    /// <summary>Failed items tolerated; one more stops the run with <see cref="TooManyErrorsException"/>. Null: no limit.</summary>
    public int? MaxErrors { get; init; }

    /// <summary>Extract only this slice and write it to <see cref="Shard.PartPath"/> of the output.</summary>
    public Shard? Shard { get; init; }

    /// <summary>The errors CSV; by default <c>&lt;output without extension&gt;.errors.csv</c>.</summary>
    public string? ErrorsPath { get; init; }

    /// <summary>Rows per resume checkpoint (chunk file); a kill loses at most this many extracted rows.</summary>
    public int CheckpointRows { get; init; } = FeatureStore.RowGroupSize;

    /// <summary>
    /// Time between resume checkpoints when fewer than <see cref="CheckpointRows"/> rows come in meanwhile (slow
    /// models, large images): a kill loses at most about this much work. Chunking never changes the final file.
    /// </summary>
    public TimeSpan CheckpointInterval { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Discard an existing output and unfinished extraction instead of resuming.</summary>
    public bool Overwrite { get; init; }

    /// <summary>The model input to feed; null: the model's only input.</summary>
    public string? InputName { get; init; }

    /// <summary>The model output holding the features; null: the metadata's feature tensor, or the only output.</summary>
    public string? OutputName { get; init; }
}

/// <summary>What a <see cref="FeatureExtractor"/> run did.</summary>
/// <param name="Output">The feature store written (a part file when sharded).</param>
/// <param name="ErrorsFile">The errors CSV of this run.</param>
/// <param name="Items">Items this run was responsible for (its shard's slice, or all).</param>
/// <param name="Written">Items extracted by this run.</param>
/// <param name="Skipped">Items already stored by an earlier, interrupted run (or in an existing output).</param>
/// <param name="Errors">Items that failed.</param>
/// <param name="Seconds">Wall time.</param>
public sealed record FeatureExtractionSummary(string Output, string ErrorsFile, int Items, int Written, int Skipped, int Errors, double Seconds)
{
    /// <summary>Extracted items per second.</summary>
    public double ItemsPerSecond => Seconds > 0 ? Written / Seconds : 0;
}

/// <summary>
/// Runs a (cut) backbone over a dataset and stores one feature vector per item in a <see cref="FeatureStore"/>.
/// Decode workers encode items into pooled buffers and feed a channel (bounded by a semaphore); one consumer batches them
/// through the model (the next batches decode meanwhile) and checkpoints rows in chunks, so an interrupted
/// run resumes where it stopped. Items that fail to decode go to the errors file (and, as warnings, to the
/// <see cref="ILogger"/> when one is given) and the run goes on.
/// The output depends only on the items and the model, not on threads, batching or interruptions.
/// </summary>
public sealed class FeatureExtractor
{
    private readonly InferenceSession _session;
    private readonly ISampleEncoder _encoder;
    private readonly FeatureStoreMetadata _description;
    private readonly ILogger _logger;
    private readonly int _concurrentBatches;

    /// <summary>
    /// Uses an already-created <paramref name="session"/> (created once by the caller, with its thread and
    /// provider settings) and <paramref name="encoder"/>. <paramref name="description"/> names the backbone,
    /// its hash, feature tensor and preprocessing; its dimension, dataset and shard fields are filled in.
    /// Items that fail are logged to <paramref name="logger"/> as warnings.
    /// <c>concurrentBatches</c> batches run at once (on thread-pool threads): more than one suits a session with one
    /// intra-op thread, whose runs stay on their calling thread and never wait for a sibling thread.
    /// </summary>
    internal FeatureExtractor(InferenceSession session, ISampleEncoder encoder, FeatureStoreMetadata description, ILogger? logger = null,
        int concurrentBatches = 1)
    {
        ArgumentNullException.ThrowIfNull(session);
        ArgumentNullException.ThrowIfNull(encoder);
        ArgumentNullException.ThrowIfNull(description);
        _session = session;
        _encoder = encoder;
        _description = description;
        _logger = logger ?? NullLogger.Instance;
        _concurrentBatches = Math.Max(1, concurrentBatches);
    }

    /// <summary>
    /// Extracts <paramref name="items"/> (the whole dataset listing; <see cref="FeatureExtractionOptions.Shard"/>
    /// picks a slice) into <paramref name="outPath"/>, resuming an interrupted run with the same settings.
    /// Cancellation keeps the rows extracted so far for the next run and throws <see cref="OperationCanceledException"/>.
    /// </summary>
    public async Task<FeatureExtractionSummary> RunAsync(IReadOnlyList<DatasetItem> items, string outPath,
        FeatureExtractionOptions? options = null, IProgress<ProgressUpdate>? progress = null, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(items);
        ArgumentException.ThrowIfNullOrEmpty(outPath);
        options ??= new FeatureExtractionOptions();
        var clock = Stopwatch.StartNew();
        var duplicate = items.GroupBy(i => i.Id, StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1);
        if (duplicate is not null)
            throw new OnnxTransferException($"dataset: the id '{duplicate.Key}' occurs {duplicate.Count()} times; item ids must be unique.");
        var (inputName, outputName) = ResolveNames(options);
        var fixedBatch = CheckInputShape(inputName);
        var metadata = _description with
        {
            FeatureTensor = _description.FeatureTensor.Length > 0 ? _description.FeatureTensor : outputName,
            Dimension = 0,
            DatasetItems = items.Count,
            DatasetSha256 = FeatureStoreMetadata.DatasetFingerprint(items.Select(i => i.Id)),
            Shard = options.Shard,
            Tool = ToolInfo.NameAndVersion,
        };
        var selected = options.Shard?.Select(items) ?? items;
        var output = Path.GetFullPath(options.Shard?.PartPath(outPath) ?? outPath);
        var errorsPath = options.ErrorsPath ?? Path.ChangeExtension(output, null) + ".errors.csv";

        OutputPaths.RefuseOverlap([], [("--out", output), ("--errors", errorsPath), ("--errors", FeatureStore.PartialPath(output))]);

        // --overwrite ignores the existing store and replaces it only when the new one is complete.
        SortedFeatureMerge.Source? existing = null;
        if (!options.Overwrite && File.Exists(output))
        {
            existing = await SortedFeatureMerge.ScanAsync(output, ct).ConfigureAwait(false);
            if (metadata.Difference(existing.Metadata) is { } diff)
                throw new OnnxTransferException($"{output} already holds other features ({diff}); delete it, use another --out, or overwrite it.");
        }

        using var partial = await PartialFeatureStore.OpenAsync(output, metadata, options.Overwrite, ct).ConfigureAwait(false);
        var dimension = partial.Metadata.Dimension != 0 ? partial.Metadata.Dimension : existing?.Metadata.Dimension ?? 0;
        if (existing is not null && existing.Metadata.Dimension != 0 && dimension != existing.Metadata.Dimension)
            throw new OnnxTransferException($"{output}: dimension {existing.Metadata.Dimension} differs from the unfinished run in {partial.Folder} ({dimension}); delete one of them.");
        if (dimension == 0) dimension = StaticDimension(outputName);

        var stored = new HashSet<string>(partial.StoredIds, StringComparer.Ordinal);
        if (existing is not null) stored.UnionWith(existing.Ids);
        var pending = selected.Where(i => !stored.Contains(i.Id)).OrderBy(i => i.Id, StringComparer.Ordinal).ToArray();
        var skipped = selected.Count - pending.Length;

        using var errors = ErrorLog.Create(errorsPath);
        var run = new Run(this, pending, partial, errors, options, inputName, outputName, fixedBatch, dimension, skipped, selected.Count, progress);
        int written;
        try
        {
            written = await Task.Run(() => run.ExecuteAsync(ct), CancellationToken.None).ConfigureAwait(false);
            dimension = run.Dimension;
            if (partial.Chunks.Count > 0 || existing is null)
            {
                var sources = new List<SortedFeatureMerge.Source>(partial.Chunks);
                if (existing is not null) sources.Insert(0, existing);
                await SortedFeatureMerge.WriteAsync(output, sources, metadata with { Dimension = dimension }, FeatureStore.RowGroupSize, progress, "write", null, ct)
                    .ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException e) when (e is not ExtractionStoppedException)
        {
            // A preempted job's log must say what survived, so whoever requeues it knows the work is not lost.
            stored.UnionWith(partial.StoredIds);
            throw new ExtractionStoppedException(stored.Count, selected.Count, run.Written, partial.Folder, e.CancellationToken);
        }
        partial.Delete();
        return new FeatureExtractionSummary(output, errorsPath, selected.Count, written, skipped, errors.Count, clock.Elapsed.TotalSeconds);
    }

    private (string Input, string Output) ResolveNames(FeatureExtractionOptions options)
    {
        var inputs = _session.InputNames;
        var outputs = _session.OutputNames;
        var input = options.InputName ?? (inputs.Count == 1 ? inputs[0]
            : throw new OnnxTransferException($"the backbone has {inputs.Count} inputs ({string.Join(", ", inputs)}); name the one to feed."));
        if (!inputs.Contains(input))
            throw new OnnxTransferException($"the backbone has no input '{input}' (inputs: {string.Join(", ", inputs)}).");
        var output = options.OutputName
            ?? (outputs.Contains(_description.FeatureTensor) ? _description.FeatureTensor
            : outputs.Count == 1 ? outputs[0]
            : throw new OnnxTransferException($"the backbone has {outputs.Count} outputs ({string.Join(", ", outputs)}) and none is '{_description.FeatureTensor}'; name the feature tensor."));
        if (!outputs.Contains(output))
            throw new OnnxTransferException($"the backbone has no output '{output}' (outputs: {string.Join(", ", outputs)}); cut it at the feature tensor first.");
        return (input, output);
    }

    /// <summary>Checks the encoder's sample shape fits the model input; returns the model's fixed batch size, or 0 when dynamic.</summary>
    private int CheckInputShape(string input)
    {
        var dims = _session.InputMetadata[input].Dimensions;
        var sample = _encoder.SampleShape;
        var fits = dims.Length == sample.Count + 1;
        for (var i = 0; fits && i < sample.Count; i++) fits = dims[i + 1] <= 0 || dims[i + 1] == sample[i];
        if (!fits)
            throw new OnnxTransferException($"the backbone input '{input}' takes [{string.Join(',', dims.Select(d => d > 0 ? d.ToString() : "?"))}] but samples are encoded as [N,{string.Join(',', sample)}]; make the preprocessing size and layout match the model.");
        return dims.Length > 0 && dims[0] > 0 ? dims[0] : 0;
    }

    private int StaticDimension(string output)
    {
        var dims = _session.OutputMetadata[output].Dimensions;
        if (dims.Length < 1 || dims.Skip(1).Any(d => d <= 0)) return 0;
        return dims.Skip(1).Aggregate(1, (a, b) => checked(a * b));
    }

    private readonly record struct Decoded(DatasetItem Item, float[]? Buffer, string? Error);

    /// <summary>One extraction pass over the pending items.</summary>
    private sealed class Run(FeatureExtractor owner, DatasetItem[] pending, PartialFeatureStore partial, ErrorLog errors,
        FeatureExtractionOptions options, string inputName, string outputName, int fixedBatch, int dimension, int skipped, int total,
        IProgress<ProgressUpdate>? progress)
    {
        private readonly int _sampleSize = checked((int)owner._encoder.SampleShape.Aggregate(1L, (a, b) => a * b));
        // A model with a fixed batch dimension gets exactly that many samples per call (the last batch padded).
        private readonly int _batchSize = fixedBatch > 0 ? fixedBatch : Math.Max(1, options.BatchSize);
        private readonly List<DatasetItem> _checkpointItems = [];
        private readonly List<float[]> _checkpointRows = [];
        private readonly Stopwatch _sinceCheckpoint = Stopwatch.StartNew();
        // Batches started and not yet stored, oldest first, with the input buffer each reads; buffers of stored batches.
        private readonly Queue<(Task<float[]> Run, DatasetItem[] Items, float[] Input)> _inFlight = new();
        private readonly Stack<float[]> _spareInputs = new();
        private int _written;

        /// <summary>Items extracted so far in this pass.</summary>
        public int Written => _written;

        public int Dimension { get; private set; } = dimension;

        public async Task<int> ExecuteAsync(CancellationToken ct)
        {
            if (pending.Length == 0)
            {
                Report();
                return 0;
            }
            var threads = Math.Max(1, options.Threads);
            var capacity = _batchSize * 2;
            var pool = ArrayPool<float>.Create(_sampleSize, capacity + threads + 1);
            // The semaphore bounds the decoded items waiting for the model: a worker takes a slot before writing one,
            // the consumer gives it back after reading it. Workers block on it (not on an async channel write), so no
            // thread ever waits for a task.
            var channel = Channel.CreateUnbounded<Decoded>(new UnboundedChannelOptions { SingleReader = true });
            using var slots = new SemaphoreSlim(capacity, capacity);
            using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
            var next = -1;

            // Decode workers are dedicated threads that block when the channel is full: as thread-pool tasks they
            // took every pool thread on a small machine and the consumer's continuation (the inference) waited.
            void Decode()
            {
                while (true)
                {
                    var i = Interlocked.Increment(ref next);
                    if (i >= pending.Length || stop.IsCancellationRequested) return;
                    var item = pending[i];
                    var buffer = pool.Rent(_sampleSize);
                    Decoded decoded;
                    try
                    {
                        owner._encoder.Encode(item, buffer.AsSpan(0, _sampleSize));
                        decoded = new Decoded(item, buffer, null);
                    }
                    catch (Exception e) when (e is not OperationCanceledException)
                    {
                        pool.Return(buffer);
                        decoded = new Decoded(item, null, e is OnnxTransferException ? e.Message : $"{e.GetType().Name}: {e.Message}");
                    }
                    try
                    {
                        slots.Wait(stop.Token);
                    }
                    catch (OperationCanceledException)
                    {
                        if (decoded.Buffer is not null) pool.Return(decoded.Buffer);
                        return;
                    }
                    channel.Writer.TryWrite(decoded); // unbounded: always accepted
                }
            }

            var workers = Enumerable.Range(0, threads)
                .Select(_ => Task.Factory.StartNew(Decode, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default)).ToArray();
            var decoding = Task.WhenAll(workers).ContinueWith(t => channel.Writer.TryComplete(t.Exception?.GetBaseException()), TaskScheduler.Default);

            var batchItems = new List<DatasetItem>(_batchSize);
            var batchInput = NewInput();
            var tooMany = false;
            using var runOptions = new RunOptions();
            using var terminate = ct.Register(() => runOptions.Terminate = true);
            var completed = false;
            try
            {
                await foreach (var d in channel.Reader.ReadAllAsync(stop.Token).ConfigureAwait(false))
                {
                    slots.Release();
                    if (d.Error is not null)
                    {
                        var count = errors.Add(d.Item.Id, d.Item.Path, d.Error);
                        owner._logger.LogWarning("Skipped {Id}: {Error}", d.Item.Id, d.Error);
                        Report();
                        if (options.MaxErrors is { } max && count > max) { tooMany = true; break; }
                        continue;
                    }
                    d.Buffer.AsSpan(0, _sampleSize).CopyTo(batchInput.AsSpan(batchItems.Count * _sampleSize, _sampleSize));
                    pool.Return(d.Buffer!);
                    batchItems.Add(d.Item);
                    if (batchItems.Count == _batchSize) batchInput = await StartBatchAsync(batchItems, batchInput, runOptions, ct).ConfigureAwait(false);
                }
                // Items already decoded are finished even when stopping for too many errors.
                if (batchItems.Count > 0) await StartBatchAsync(batchItems, batchInput, runOptions, ct).ConfigureAwait(false);
                while (_inFlight.Count > 0) await FinishOldestAsync(ct).ConfigureAwait(false);
                completed = true;
            }
            finally
            {
                stop.Cancel();
                if (!completed) runOptions.Terminate = true;
                // Runs still going use runOptions and their input buffers: let them end (their rows are extracted again on resume).
                while (_inFlight.TryDequeue(out var left)) try { await left.Run.ConfigureAwait(false); } catch (Exception) { /* the original exception matters more */ }
                while (channel.Reader.TryRead(out var d)) if (d.Buffer is not null) pool.Return(d.Buffer);
                await decoding.ConfigureAwait(false);
                // Keep what was extracted, also on Ctrl-C or failure, so the next run resumes from here (not cancellable:
                // one chunk write, and the point of stopping cleanly).
                if (completed) await CheckpointAsync(CancellationToken.None).ConfigureAwait(false);
                else try { await CheckpointAsync(CancellationToken.None).ConfigureAwait(false); } catch (OnnxTransferException) { /* the original exception matters more */ }
            }
            if (tooMany)
                throw new TooManyErrorsException($"{errors.Count} items failed, more than --max-errors {options.MaxErrors} allows (see {errors.Path}); the {_written} items extracted so far are kept in {partial.Folder}: fix the inputs or raise --max-errors and run again to resume.");
            Report();
            return _written;
        }

        private float[] NewInput() => _spareInputs.TryPop(out var input) ? input : new float[(long)_batchSize * _sampleSize];

        /// <summary>
        /// Starts the model on the gathered batch (inline with one concurrent batch, else on the thread pool, after the
        /// oldest run finishes when all are busy) and returns the buffer to gather the next batch in.
        /// </summary>
        private async Task<float[]> StartBatchAsync(List<DatasetItem> batchItems, float[] batchInput, RunOptions runOptions, CancellationToken ct)
        {
            if (_inFlight.Count >= owner._concurrentBatches) await FinishOldestAsync(ct).ConfigureAwait(false);
            var items = batchItems.ToArray();
            batchItems.Clear();
            var run = owner._concurrentBatches == 1
                ? Task.FromResult(Infer(items.Length, batchInput, runOptions, ct))
                : Task.Run(() => Infer(items.Length, batchInput, runOptions, ct), CancellationToken.None);
            _inFlight.Enqueue((run, items, batchInput));
            if (owner._concurrentBatches == 1) await FinishOldestAsync(ct).ConfigureAwait(false);
            return NewInput();
        }

        /// <summary>Runs the model on the first <paramref name="n"/> samples of <paramref name="batchInput"/>; returns the output rows.</summary>
        private float[] Infer(int n, float[] batchInput, RunOptions runOptions, CancellationToken ct)
        {
            var rows = fixedBatch > 0 ? fixedBatch : n;
            batchInput.AsSpan(n * _sampleSize, (rows - n) * _sampleSize).Clear();
            var shape = new long[owner._encoder.SampleShape.Count + 1];
            shape[0] = rows;
            for (var i = 1; i < shape.Length; i++) shape[i] = owner._encoder.SampleShape[i - 1];
            using var input = OrtValue.CreateTensorValueFromMemory(OrtMemoryInfo.DefaultInstance, batchInput.AsMemory(0, rows * _sampleSize), shape);
            IDisposableReadOnlyCollection<OrtValue> outputs;
            try
            {
                outputs = owner._session.Run(runOptions, [inputName], [input], [outputName]);
            }
            catch (OnnxRuntimeException) when (ct.IsCancellationRequested)
            {
                throw new OperationCanceledException(ct);
            }
            catch (OnnxRuntimeException e)
            {
                throw new OnnxTransferException($"the backbone rejected a batch of shape [{string.Join(',', shape)}] ({FeatureParquet.OneLine(e.Message)}); check the preprocessing matches the model's input.", e);
            }
            using (outputs) return outputs[0].GetTensorDataAsSpan<float>().ToArray();
        }

        /// <summary>Waits for the oldest run and stores its rows (in start order, so checkpoints stay in the consumer's hands).</summary>
        private async Task FinishOldestAsync(CancellationToken ct)
        {
            var (run, items, input) = _inFlight.Dequeue();
            float[] values;
            try { values = await run.ConfigureAwait(false); }
            finally { _spareInputs.Push(input); }
            var n = items.Length;
            var rows = fixedBatch > 0 ? fixedBatch : n;
            var dim = values.Length / rows;
            if (dim == 0 || values.Length % rows != 0)
                throw new OnnxTransferException($"the backbone output '{outputName}' has {values.Length} values for a batch of {rows}; cut the model at a per-item feature tensor.");
            if (Dimension != 0 && dim != Dimension)
                throw new OnnxTransferException($"the backbone output '{outputName}' has {dim} values per item but {Dimension} were expected (stored or declared); delete {partial.Folder} to start over, or use another --out.");
            Dimension = dim;
            for (var k = 0; k < n; k++)
            {
                _checkpointItems.Add(items[k]);
                _checkpointRows.Add(values.AsSpan(k * dim, dim).ToArray());
            }
            _written += n;
            if (_checkpointItems.Count >= Math.Max(1, options.CheckpointRows) || _sinceCheckpoint.Elapsed >= options.CheckpointInterval)
                await CheckpointAsync(ct).ConfigureAwait(false);
            Report();
        }

        private async Task CheckpointAsync(CancellationToken ct)
        {
            if (_checkpointItems.Count == 0) return;
            var n = _checkpointItems.Count;
            var features = new float[(long)n * Dimension];
            for (var k = 0; k < n; k++) _checkpointRows[k].CopyTo(features.AsSpan(k * Dimension));
            await partial.WriteChunkAsync(new FeatureTable(_checkpointItems.Select(i => i.Id).ToArray(), _checkpointItems.Select(i => i.Label).ToArray(),
                _checkpointItems.Select(i => i.Split).ToArray(), features, Dimension), ct).ConfigureAwait(false);
            _checkpointItems.Clear();
            _checkpointRows.Clear();
            _sinceCheckpoint.Restart();
            // A chunk write leaves ~25 MB of large arrays (rows, Parquet column buffers) that the GC kept until much
            // later: `extract` on 5,216 chest X-rays grew by that much per chunk (peak ~390 MB; 245 MB with the managed
            // heap capped). One background collection per chunk (every 1024 rows) costs far less than the decoding.
            GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: false);
        }

        private void Report() =>
            progress?.Report(new ProgressUpdate("extract", skipped + _written + errors.Count, total, "items",
                errors.Count > 0 ? $"{errors.Count} errors" : null));
    }
}
