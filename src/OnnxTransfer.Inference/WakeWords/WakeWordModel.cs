using Microsoft.ML.OnnxRuntime;
using OnnxTransfer.Audio;
using OnnxTransfer.Export;

using OnnxTransfer.Runtime;
namespace OnnxTransfer.WakeWords;

/// <summary>Scores windows of speech embeddings for one wake word (what <see cref="WakeWordDetector"/> runs).</summary>
public interface IWakeWordScorer
{
    /// <summary>The wake word's name (reported with detections).</summary>
    string Name { get; }

    /// <summary>Embeddings per window (16 for openWakeWord heads).</summary>
    int WindowEmbeddings { get; }

    /// <summary>
    /// Scores <paramref name="windows"/>: row-major [count, <see cref="WindowEmbeddings"/>, 96]; writes one
    /// probability per window to <paramref name="scores"/>.
    /// </summary>
    void Score(ReadOnlySpan<float> windows, Span<float> scores);

    /// <summary>The model's own decision threshold (calibrated when it was trained), or null for none.</summary>
    double? Threshold => null;
}

/// <summary>
/// A wake-word model file on ONNX Runtime: either one exported by `onnxtransfer wakeword train` (input
/// [N,16,96], output <c>score</c>) or an openWakeWord pretrained head (one input [1,16,96] with any name,
/// one [1,1] sigmoid output; batch fixed at 1, so windows run one at a time). Safe to call from several
/// threads (ONNX Runtime sessions allow concurrent runs).
/// </summary>
public sealed class WakeWordModel : IWakeWordScorer, IDisposable
{
    private readonly InferenceSession _session;
    private readonly RunOptions _runOptions = new();
    private readonly string _input, _output;
    private readonly bool _batched;
    private readonly ResourceGuard _guard = new(nameof(WakeWordModel));

    /// <summary>Loads <paramref name="path"/>; <paramref name="name"/> overrides the wake word's name.</summary>
    public WakeWordModel(string path, string? name = null, int threads = 1)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (!File.Exists(path) && !Directory.Exists(path)) throw new OnnxTransferException($"{path}: wake-word model not found; pass a model from `onnxtransfer wakeword train` or an openWakeWord head.");
        InputFile.EnsureReadable(path);
        using var sessions = SessionFactory.ForTraining(ExecutionDevice.Cpu, threads);
        try { _session = sessions.CreateSession(path); }
        catch (OnnxTransferException ex) when (ex.InnerException is OnnxRuntimeException e) { throw new OnnxTransferException($"{path}: ONNX Runtime cannot load the model ({e.Message.Split('\n')[0].Trim()}); check the file.", e); }
        try
        {
            if (_session.InputMetadata.Count != 1)
                throw new OnnxTransferException($"{path}: a wake-word model has one input [N,16,96], this one has {_session.InputMetadata.Count}; pass a wake-word model.");
            var (input, meta) = _session.InputMetadata.First();
            var dims = meta.Dimensions;
            if (dims.Length != 3 || dims[2] != SpeechFrontEnd.EmbeddingSize || dims[1] is <= 0 or > MaxWindow)
                throw new OnnxTransferException($"{path}: input '{input}' is [{string.Join(",", dims)}], expected [N,16,96] speech embeddings; pass a wake-word model.");
            _input = input;
            WindowEmbeddings = dims[1];
            _batched = dims[0] != 1;
            var custom = _session.ModelMetadata.CustomMetadataMap;
            if (custom.ContainsKey("onnxtransfer.labels"))
            {
                var metadata = Export.ModelMetadata.Read(custom, Path.GetFileName(path));
                if (metadata.InputKind != ModelInputKind.SpeechEmbeddings)
                    throw new OnnxTransferException($"{path}: the model reads {metadata.InputKind}, not speech embeddings; pass a wake-word model.");
                _output = _session.OutputMetadata.ContainsKey(Export.ModelMetadata.WakeWordScoreOutput) ? Export.ModelMetadata.WakeWordScoreOutput
                    : throw new OnnxTransferException($"{path}: no '{Export.ModelMetadata.WakeWordScoreOutput}' output; export it with `onnxtransfer wakeword train`.");
                Name = name ?? (custom.TryGetValue(Export.ModelMetadata.WakeWordKey, out var w) ? w : metadata.Labels[^1]);
                if (custom.TryGetValue(Export.ModelMetadata.WakeWordThresholdKey, out var t))
                    Threshold = double.TryParse(t, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var v) && v is >= 0 and <= 1
                        ? v : throw new OnnxTransferException($"{path}: metadata {Export.ModelMetadata.WakeWordThresholdKey}='{t}' is not a threshold in [0, 1]; retrain the model or pass --threshold.");
            }
            else
            {
                if (_session.OutputMetadata.Count != 1 || _session.OutputMetadata.First().Value.Dimensions[^1] != 1)
                    throw new OnnxTransferException($"{path}: expected one [N,1] score output; pass an openWakeWord head or a model from `onnxtransfer wakeword train`.");
                _output = _session.OutputMetadata.First().Key;
                // openWakeWord file names carry a version: alexa_v0.1.onnx -> alexa.
                var stem = Path.GetFileNameWithoutExtension(path);
                var cut = stem.IndexOf("_v", StringComparison.Ordinal);
                Name = name ?? (cut > 0 ? stem[..cut] : stem);
            }
            FilePath = path;
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    // About a minute of embeddings: far more than any head reads, small enough to allocate per window.
    private const int MaxWindow = 1024;

    /// <inheritdoc />
    public string Name { get; }

    /// <inheritdoc />
    public int WindowEmbeddings { get; }

    /// <summary>The decision threshold calibrated at training time (stored in the model), or null (openWakeWord heads: use 0.5).</summary>
    public double? Threshold { get; }

    /// <summary>The file loaded.</summary>
    public string FilePath { get; }

    /// <inheritdoc />
    public void Score(ReadOnlySpan<float> windows, Span<float> scores)
    {
        var size = WindowEmbeddings * SpeechFrontEnd.EmbeddingSize;
        if (windows.Length != scores.Length * size)
            throw new ArgumentException($"{windows.Length} values are not {scores.Length} windows of {size}", nameof(windows));
        using var lease = _guard.Enter();
        var step = _batched ? Math.Max(1, Math.Min(scores.Length, 256)) : 1;
        for (var start = 0; start < scores.Length; start += step)
        {
            var n = Math.Min(step, scores.Length - start);
            var input = windows.Slice(start * size, n * size).ToArray();
            using var value = OrtValue.CreateTensorValueFromMemory(input, [n, WindowEmbeddings, SpeechFrontEnd.EmbeddingSize]);
            using var outputs = _session.Run(_runOptions, [_input], [value], [_output]);
            outputs[0].GetTensorDataAsSpan<float>().CopyTo(scores.Slice(start, n));
        }
    }

    /// <summary>Waits for scoring still running on other threads, then frees the session; later calls throw <see cref="ObjectDisposedException"/>.</summary>
    public void Dispose()
    {
        if (!_guard.Close()) return;
        _session?.Dispose();
        _runOptions.Dispose();
    }
}
