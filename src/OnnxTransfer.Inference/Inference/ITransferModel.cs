using OnnxTransfer.Export;

namespace OnnxTransfer.Inference;

/// <summary>
/// A loaded classifier as an application uses it: labels files, encoded bytes and streams (images, or WAV audio
/// for a speech model), one at a time or in batches. <see cref="TransferModel"/> implements it; depend on this
/// interface where a test should substitute a fake model (e.g. a web endpoint's handler).
/// </summary>
/// <remarks>
/// A fake needs only the abstract members: the batch, file-list and async members default to calling
/// <see cref="Predict(string)"/> and <see cref="Predict(byte[], string)"/> one item at a time.
/// </remarks>
public interface ITransferModel
{
    /// <summary>The model file's name (for messages).</summary>
    string Name { get; }

    /// <summary>Class labels in output order.</summary>
    IReadOnlyList<string> Labels { get; }

    /// <summary>What the model takes: image tensors, image bytes or speech embeddings (WAV input).</summary>
    ModelInputKind InputKind { get; }

    /// <summary>The execution provider in use (e.g. CPUExecutionProvider).</summary>
    string Provider { get; }

    /// <summary>File extensions this model's inputs use: images, or audio for speech models.</summary>
    IReadOnlyList<string> InputExtensions =>
        InputKind == ModelInputKind.SpeechEmbeddings ? InputFiles.AudioExtensions : InputFiles.ImageExtensions;

    /// <summary>Labels an image file, or a WAV file for a speech model.</summary>
    /// <exception cref="OnnxTransferException">The file is missing or cannot be decoded (the message names it).</exception>
    Prediction Predict(string path);

    /// <summary>Labels an encoded image (or WAV clip for a speech model) held in memory; <paramref name="name"/> appears in errors.</summary>
    /// <exception cref="OnnxTransferException">The bytes cannot be decoded (the message names <paramref name="name"/>).</exception>
    Prediction Predict(byte[] encoded, string name = "image");

    /// <summary>Labels an encoded image (or WAV clip) read from <paramref name="stream"/> to its end (not closed).</summary>
    Prediction Predict(Stream stream, string name = "image")
    {
        using var buffer = new MemoryStream();
        stream.CopyTo(buffer);
        return Predict(buffer.ToArray(), name);
    }

    /// <summary>Labels files in one batch; a file that cannot be read throws.</summary>
    IReadOnlyList<Prediction> PredictBatch(IEnumerable<string> paths) => paths.Select(Predict).ToArray();

    /// <summary>Labels encoded inputs in memory in one batch.</summary>
    IReadOnlyList<Prediction> PredictBatch(IEnumerable<byte[]> encoded) =>
        encoded.Select((b, i) => Predict(b, $"image[{i}]")).ToArray();

    /// <summary>Labels encoded inputs from streams in one batch.</summary>
    IReadOnlyList<Prediction> PredictBatch(IEnumerable<Stream> streams) =>
        streams.Select((s, i) => Predict(s, $"stream[{i}]")).ToArray();

    /// <summary>
    /// Labels many files in input order; a file that cannot be read gives a <see cref="FilePrediction"/> with its
    /// error and the rest go on.
    /// </summary>
    IEnumerable<FilePrediction> PredictFiles(IEnumerable<string> paths, int batchSize = 32, CancellationToken ct = default)
    {
        foreach (var path in paths)
        {
            ct.ThrowIfCancellationRequested();
            FilePrediction result;
            try { result = new FilePrediction(path, Predict(path), null); }
            catch (OnnxTransferException e) { result = new FilePrediction(path, null, e.Message); }
            yield return result;
        }
    }

    /// <summary>Labels a file on the thread pool.</summary>
    Task<Prediction> PredictAsync(string path, CancellationToken ct = default) => Task.Run(() => Predict(path), ct);

    /// <summary>Labels encoded bytes on the thread pool.</summary>
    Task<Prediction> PredictAsync(byte[] encoded, string name = "image", CancellationToken ct = default) =>
        Task.Run(() => Predict(encoded, name), ct);

    /// <summary>Reads <paramref name="stream"/> asynchronously (e.g. a request body), then labels it on the thread pool.</summary>
    async Task<Prediction> PredictAsync(Stream stream, string name = "image", CancellationToken ct = default)
    {
        using var buffer = new MemoryStream();
        await stream.CopyToAsync(buffer, ct).ConfigureAwait(false);
        var bytes = buffer.ToArray();
        return await Task.Run(() => Predict(bytes, name), ct).ConfigureAwait(false);
    }

    /// <summary>Labels files in one batch on the thread pool.</summary>
    Task<IReadOnlyList<Prediction>> PredictBatchAsync(IEnumerable<string> paths, CancellationToken ct = default) =>
        Task.Run(() => PredictBatch(paths), ct);

    /// <summary>Labels encoded inputs in one batch on the thread pool.</summary>
    Task<IReadOnlyList<Prediction>> PredictBatchAsync(IEnumerable<byte[]> encoded, CancellationToken ct = default) =>
        Task.Run(() => PredictBatch(encoded), ct);
}
