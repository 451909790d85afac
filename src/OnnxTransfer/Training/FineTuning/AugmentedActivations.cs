using System.Runtime.ExceptionServices;
using Microsoft.ML.OnnxRuntime;
using OnnxTransfer.Data;
using OnnxTransfer.Imaging;

using OnnxTransfer.Runtime;

namespace OnnxTransfer.Training.FineTuning;

/// <summary>
/// Boundary activations computed per mini-batch from augmented images: each <see cref="Fill"/> decodes the batch's
/// images in parallel, draws every item's crop and flip for the epoch (<see cref="AugmentedImageEncoder"/>: stateless,
/// so a rerun or a resumed run sees the same views) and runs the frozen prefix on them. Nothing is cached — the prefix
/// output changes every epoch, so each epoch costs a pass of the whole network. Epoch 0 (evaluation) encodes without
/// augmentation. Images that cannot be read should be dropped beforehand (<see cref="FindUnreadable"/>); one that fails
/// during training stops it with an <see cref="ImageDecodeException"/> naming the file. Dispose to free the session.
/// </summary>
internal sealed class AugmentedActivations : IActivationSource, IDisposable
{
    private readonly FineTuneGraph _graph;
    private readonly AugmentedImageEncoder _encoder;
    private readonly InferenceSession _session;
    private readonly ResourceGuard _guard = new(nameof(AugmentedActivations));
    private readonly long[] _imageShape;
    private readonly int _imageSize;
    private readonly int _sampleSize;

    /// <summary>Creates the source over <paramref name="items"/>; <paramref name="sessions"/> creates the prefix session (null: one CPU thread).</summary>
    public AugmentedActivations(FineTuneGraph graph, AugmentedImageEncoder encoder, IReadOnlyList<DatasetItem> items, SessionFactory? sessions = null)
    {
        _graph = graph ?? throw new ArgumentNullException(nameof(graph));
        _encoder = encoder ?? throw new ArgumentNullException(nameof(encoder));
        Items = items ?? throw new ArgumentNullException(nameof(items));
        SampleShape = FineTuner.BoundaryShape(graph);
        _sampleSize = checked((int)SampleShape.Aggregate(1L, (a, d) => a * d));
        _imageShape = encoder.SampleShape.ToArray();
        _imageSize = checked((int)_imageShape.Aggregate(1L, (a, d) => a * d));
        using var owned = sessions is null ? SessionFactory.ForTraining(ExecutionDevice.Cpu, 1) : null;
        _session = (sessions ?? owned!).CreateSession(graph.Prefix.ToBytes());
    }

    /// <inheritdoc />
    public IReadOnlyList<DatasetItem> Items { get; }

    /// <inheritdoc />
    public IReadOnlyList<long> SampleShape { get; }

    /// <summary>The encoder (augmentation, seed).</summary>
    public AugmentedImageEncoder Encoder => _encoder;

    /// <inheritdoc />
    /// <exception cref="ImageDecodeException">An image of the batch cannot be read.</exception>
    public void Fill(int epoch, ReadOnlySpan<int> rows, Span<float> destination)
    {
        if (destination.Length != rows.Length * _sampleSize)
            throw new ArgumentException($"destination holds {destination.Length} floats; {rows.Length * _sampleSize} needed.", nameof(destination));
        if (rows.Length == 0) return;
        var n = rows.Length;
        var batch = rows.ToArray();
        var images = new float[n * _imageSize];
        try
        {
            Parallel.For(0, n, k => _encoder.Encode(Items[batch[k]], epoch, images.AsSpan(k * _imageSize, _imageSize)));
        }
        catch (AggregateException e) when (e.InnerExceptions.Count > 0)
        {
            // The first failure, as thrown (a one-line ImageDecodeException naming the file).
            ExceptionDispatchInfo.Capture(e.InnerExceptions[0]).Throw();
        }
        using var lease = _guard.Enter();
        using var runOptions = new RunOptions();
        using var input = OrtValue.CreateTensorValueFromMemory(images, [n, .. _imageShape]);
        using var output = _session.Run(runOptions, [_session.InputNames[0]], [input], [_graph.Boundary]);
        output[0].GetTensorDataAsSpan<float>().CopyTo(destination);
    }

    /// <summary>
    /// Decodes every item once (in parallel, at the reduced scale plain encoding would use) and returns the indices of
    /// those that cannot be read, sorted, so training can leave them out up front (as the activation cache does)
    /// instead of failing mid-epoch.
    /// </summary>
    public static IReadOnlyList<int> FindUnreadable(ImageEncoder encoder, IReadOnlyList<DatasetItem> items, IProgress<ProgressUpdate>? progress = null, CancellationToken ct = default)
    {
        var failed = new List<int>();
        const int chunk = 32;
        for (var start = 0; start < items.Count; start += chunk)
        {
            ct.ThrowIfCancellationRequested();
            var first = start;
            Parallel.For(first, Math.Min(first + chunk, items.Count), i =>
            {
                try { using var image = encoder.Decoder.Decode(items[i].Path, encoder.Preprocessor.Preprocessing); }
                catch (ImageDecodeException) { lock (failed) failed.Add(i); }
            });
            progress?.Report(new ProgressUpdate("check", Math.Min(first + chunk, items.Count), items.Count, "images", "readable"));
        }
        failed.Sort();
        return failed;
    }

    /// <summary>Frees the prefix session.</summary>
    public void Dispose()
    {
        if (_guard.Close()) _session.Dispose();
    }
}
