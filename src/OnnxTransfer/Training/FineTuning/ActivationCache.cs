using Microsoft.ML.OnnxRuntime;
using OnnxTransfer.Data;
using OnnxTransfer.Features;
using OnnxTransfer.Imaging;
using OnnxTransfer.Onnx;

using OnnxTransfer.Runtime;

namespace OnnxTransfer.Training.FineTuning;

/// <summary>
/// Runs a fine-tune graph's frozen prefix once per image and keeps the boundary activations: in memory
/// (<see cref="InMemory"/>) or in a resumable Parquet feature store (<see cref="InStoreAsync"/>).
/// </summary>
internal static class ActivationCache
{
    /// <summary>
    /// Runs the frozen prefix once over <paramref name="items"/> and returns the boundary activations, one
    /// [per-sample size] slice per item in order, and the indices of items that could not be decoded (their slices are zeros).
    /// </summary>
    /// <param name="sessions">Creates the prefix session (the device); null runs it on one CPU thread.</param>
    public static (float[] Cache, IReadOnlyList<int> Failed) InMemory(FineTuneGraph graph, ImageEncoder encoder, IReadOnlyList<DatasetItem> items, int batchSize = 16,
        SessionFactory? sessions = null, IProgress<ProgressUpdate>? progress = null, CancellationToken ct = default)
    {
        using var owned = sessions is null ? SessionFactory.ForTraining(ExecutionDevice.Cpu, 1) : null;
        using var session = (sessions ?? owned!).CreateSession(graph.Prefix.ToBytes());
        using var runOptions = new RunOptions();
        var sampleShape = encoder.SampleShape.ToArray();
        var sampleSize = (int)sampleShape.Aggregate(1L, (a, b) => a * b);
        var size = FineTuner.BoundarySize(graph);
        var cache = new float[checked(items.Count * size)];
        var failed = new List<int>();
        for (var start = 0; start < items.Count; start += batchSize)
        {
            ct.ThrowIfCancellationRequested();
            var n = Math.Min(batchSize, items.Count - start);
            var images = new float[n * sampleSize];
            var first = start;
            Parallel.For(0, n, k =>
            {
                try { encoder.Encode(items[first + k], images.AsSpan(k * sampleSize, sampleSize)); }
                catch (ImageDecodeException) { lock (failed) failed.Add(first + k); }
            });
            using var input = OrtValue.CreateTensorValueFromMemory(images, [n, .. sampleShape]);
            using var output = session.Run(runOptions, [session.InputNames[0]], [input], [graph.Boundary]);
            output[0].GetTensorDataAsSpan<float>().CopyTo(cache.AsSpan(start * size, n * size));
            progress?.Report(new ProgressUpdate("cache", start + n, items.Count, "images", graph.Boundary));
        }
        failed.Sort();
        return (cache, failed);
    }

    /// <summary><see cref="InMemory"/> as an <see cref="ActivationSet"/> of the items that could be read (the others left out).</summary>
    public static ActivationSet Readable(FineTuneGraph graph, ImageEncoder encoder, IReadOnlyList<DatasetItem> items, int batchSize = 16,
        SessionFactory? sessions = null, IProgress<ProgressUpdate>? progress = null, CancellationToken ct = default)
    {
        var (cache, failed) = InMemory(graph, encoder, items, batchSize, sessions, progress, ct);
        return Readable(new ActivationSet(cache, FineTuner.BoundaryShape(graph), items), failed);
    }

    /// <summary>The set without the unreadable items.</summary>
    private static ActivationSet Readable(ActivationSet set, IReadOnlyList<int> failed)
    {
        if (failed.Count == 0) return set;
        var skip = failed.ToHashSet();
        return set.Subset(Enumerable.Range(0, set.Items.Count).Where(i => !skip.Contains(i)).ToArray());
    }

    /// <summary>
    /// Caches the boundary activations of <paramref name="items"/> in a Parquet feature store (flattened rows), resuming
    /// an unfinished or reusing a finished one, and returns them with the items that could be read, in store order, and how
    /// many items the prefix ran on now.
    /// </summary>
    public static async Task<(float[] Cache, IReadOnlyList<DatasetItem> Items, int Computed)> InStoreAsync(FineTuneGraph graph, ImageEncoder encoder, ImagePreprocessing preprocessing,
        IReadOnlyList<DatasetItem> items, string storePath, int batchSize = 16, IProgress<ProgressUpdate>? progress = null, CancellationToken ct = default,
        SessionFactory? sessions = null)
    {
        var size = FineTuner.BoundarySize(graph);
        var model = graph.Prefix.Clone();
        var g = new GraphBuilder(model.Graph);
        const string output = "activations";
        g.Alias(g.Node("Flatten", [graph.Boundary], OnnxAttribute.Int("axis", 1)), output);
        GraphEditor.SetOutputs(model.Graph, GraphBuilder.ValueInfo(output, Onnx.Proto.TensorProto.Types.DataType.Float, [null, size], ["N"]));
        var bytes = model.ToBytes();
        var description = new FeatureStoreMetadata(graph.Prefix.DisplayName + " prefix", Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(bytes)),
            graph.Boundary, preprocessing.ToString(), size);
        using var owned = sessions is null ? SessionFactory.ForTraining(ExecutionDevice.Cpu, 1) : null;
        using var session = (sessions ?? owned!).CreateSession(bytes);
        var summary = await new FeatureExtractor(session, encoder, description)
            .RunAsync(items, storePath, new FeatureExtractionOptions { BatchSize = batchSize, OutputName = output }, progress, ct).ConfigureAwait(false);
        var table = await FeatureStore.ReadAsync(summary.Output, ct).ConfigureAwait(false);
        var byId = items.GroupBy(i => i.Id, StringComparer.Ordinal).ToDictionary(x => x.Key, x => x.First(), StringComparer.Ordinal);
        var kept = new List<DatasetItem>();
        var rows = new List<int>();
        for (var r = 0; r < table.Count; r++)
            if (byId.TryGetValue(table.Paths[r], out var item)) { kept.Add(item); rows.Add(r); } // the store's path column holds item ids
        var cache = new float[rows.Count * size];
        for (var k = 0; k < rows.Count; k++) table.Row(rows[k]).CopyTo(cache.AsSpan(k * size, size));
        return (cache, kept, summary.Written);
    }
}
