using Microsoft.Extensions.Logging;
using Microsoft.ML.OnnxRuntime;
using OnnxTransfer.Audio;
using OnnxTransfer.Data;
using OnnxTransfer.Features;
using OnnxTransfer.Imaging;
using OnnxTransfer.Onnx;
using OnnxTransfer.Runtime;
using DataType = OnnxTransfer.Onnx.Proto.TensorProto.Types.DataType;

namespace OnnxTransfer.Backbones;

/// <summary>How to turn a backbone into a feature extractor.</summary>
public sealed record FeatureBackboneOptions
{
    /// <summary>Where the models run.</summary>
    public ExecutionDevice Device { get; init; } = ExecutionDevice.Cpu;

    /// <summary>Session tuning (threads, optimisation level).</summary>
    public SessionSettings? Settings { get; init; }

    /// <summary>
    /// Whether ORT's intra-op threads spin (busy-wait) for work between operators. Off by default: the extraction
    /// pipeline's decode workers share the cores with them, and a spinning thread holds a core a decode worker
    /// needs. `onnxtransfer bench extract` on 2 cores, one intra-op thread per core: spinning cost 6.4 → 7.0 ms CPU
    /// per image on hymenoptera (decode-heavy) and 2.9 → 3.1 ms on chest_xray (inference-heavy), and images/s with it.
    /// </summary>
    public bool IntraOpSpinning { get; init; }

    /// <summary>Tensor to cut at; null takes the manifest's feature tensor (or auto for plain files).</summary>
    public string? CutAt { get; init; }

    /// <summary>Spatial pooling at the cut; null lets the cutter choose what the tensor needs.</summary>
    public FeaturePool? Pool { get; init; }

    /// <summary>Embeddings per speech window (speech backbones): 16 ≈ 1.3 s, openWakeWord's head input.</summary>
    public int SpeechWindow { get; init; } = 16;

    /// <summary>Images that would decode to more pixels are refused (see <see cref="ImageDecoder.MaxPixels"/>).</summary>
    public long MaxPixels { get; init; } = ImageDecoder.DefaultMaxPixels;

    /// <summary>Receives a device fallback and the items extraction skips, as warnings; null logs nothing.</summary>
    public ILogger? Logger { get; init; }
}

/// <summary>
/// A pretrained backbone made ready to produce features: resolved (pulled if needed), cut at its feature
/// tensor with the head removed, an ONNX Runtime session on the chosen device (created on first use; CPU extraction
/// runs its own one-thread session), and the encoder that
/// turns dataset files into its input. The same type serves image backbones (decode + preprocess, then the cut
/// CNN) and speech backbones (WAV → openWakeWord front end → a window of embeddings, flattened).
/// Dispose it to release the session.
/// </summary>
public sealed class FeatureBackbone : IDisposable
{
    private readonly SessionFactory _sessions;
    private readonly SpeechFrontEnd? _frontEnd;
    // Created on first use: CPU extraction with untuned settings runs its own one-thread session, and a second
    // session's weights and planning memory would only raise the peak.
    private readonly Lazy<InferenceSession> _session;
    private readonly ResourceGuard _guard = new(nameof(FeatureBackbone));
    private readonly Lock _extractionGate = new();
    private ILogger? _logger;
    private bool _tuned;
    private SessionFactory? _extractionSessions;
    private InferenceSession? _extractionSession;

    private FeatureBackbone(ResolvedBackbone source, BackboneKind kind, OnnxModel featureModel, string featureTensor,
        int dimension, string sha256, SessionFactory sessions, ISampleEncoder encoder, SpeechFrontEnd? frontEnd)
    {
        Source = source;
        Kind = kind;
        FeatureModel = featureModel;
        FeatureTensor = featureTensor;
        Dimension = dimension;
        Sha256 = sha256;
        _sessions = sessions;
        _session = new Lazy<InferenceSession>(() => _sessions.CreateSession(FeatureModel.ToBytes()), LazyThreadSafetyMode.ExecutionAndPublication);
        Encoder = encoder;
        _frontEnd = frontEnd;
    }

    /// <summary>The resolved files and manifest.</summary>
    public ResolvedBackbone Source { get; }

    /// <summary>Backbone name (manifest name or file name).</summary>
    public string Name => Source.Name;

    /// <summary>Image or speech.</summary>
    public BackboneKind Kind { get; }

    /// <summary>The cut model whose single output <c>features</c> is float32 [N, <see cref="Dimension"/>].</summary>
    public OnnxModel FeatureModel { get; }

    /// <summary>The backbone tensor the features come from.</summary>
    public string FeatureTensor { get; }

    /// <summary>Length of one feature vector.</summary>
    public int Dimension { get; }

    /// <summary>sha256 of the backbone's main model file.</summary>
    public string Sha256 { get; }

    /// <summary>Image preprocessing (image backbones), else null.</summary>
    public ImagePreprocessing? Preprocessing => Kind == BackboneKind.Image ? Source.Preprocessing : null;

    /// <summary>The session running <see cref="FeatureModel"/> (freed by <see cref="Dispose"/>; do not use it after).</summary>
    public InferenceSession Session
    {
        get
        {
            _guard.ThrowIfClosed();
            return _session.Value;
        }
    }

    /// <summary>Turns a dataset item into one input sample (thread-safe).</summary>
    internal ISampleEncoder Encoder { get; }

    /// <summary>Threading and optimisation settings of <see cref="Session"/>.</summary>
    public SessionSettings SessionSettings => _sessions.Settings;

    /// <summary>The execution provider actually used.</summary>
    public string Provider => _sessions.Provider;

    /// <summary>
    /// Sessions for training and evaluation graphs on the device this backbone actually runs on (after any fallback, so
    /// the fallback is reported once), with <paramref name="threads"/> intra-op threads. The caller disposes it.
    /// </summary>
    public SessionFactory TrainingSessions(int threads) =>
        SessionFactory.ForTraining(_sessions.Provider == SessionFactory.CpuProvider ? ExecutionDevice.Cpu : _sessions.Device, threads);

    /// <summary>A one-line warning when the device fell back (e.g. auto → CPU), else null.</summary>
    public string? DeviceWarning => _sessions.Warning;

    /// <summary>File extensions this backbone's datasets use.</summary>
    public IReadOnlyList<string> DatasetExtensions => Kind == BackboneKind.Speech ? DatasetLoadOptions.AudioExtensions : DatasetLoadOptions.ImageExtensions;

    /// <summary>Resolves <paramref name="nameOrPath"/> (registry name or .onnx file), cuts it and opens a session.</summary>
    public static async Task<FeatureBackbone> LoadAsync(string nameOrPath, FeatureBackboneOptions? options = null,
        IProgress<ProgressUpdate>? progress = null, CancellationToken ct = default, BackboneRegistry? registry = null)
    {
        options ??= new FeatureBackboneOptions();
        var source = await (registry ?? BackboneRegistry.Default).ResolveAsync(nameOrPath, progress, ct).ConfigureAwait(false);
        // Through the settings, so a CUDA → CPU fallback (which recreates the options) keeps it.
        var sessions = SessionFactory.Create(options.Device, (options.Settings ?? SessionSettings.Default) with { IntraOpSpinning = options.IntraOpSpinning }, options.Logger);
        try
        {
            var backbone = source.Manifest?.Kind == BackboneKind.Speech
                ? LoadSpeech(source, options, sessions)
                : LoadImage(source, options, sessions);
            backbone._logger = options.Logger;
            backbone._tuned = options.Settings is not null || options.IntraOpSpinning;
            // The session extraction will run is created now, so a model ONNX Runtime rejects fails here.
            if (backbone.ExtractionThreads.ConcurrentBatches == 0) _ = backbone.Session;
            else backbone.ExtractionSession();
            return backbone;
        }
        catch
        {
            sessions.Dispose();
            throw;
        }
    }

    private static FeatureBackbone LoadImage(ResolvedBackbone source, FeatureBackboneOptions options, SessionFactory sessions)
    {
        var model = OnnxModel.Load(source.ModelPath);
        var at = options.CutAt ?? source.FeatureTensor;
        var plan = BackboneCutter.Plan(model, new CutOptions { At = at, Pool = options.Pool });
        var cut = BackboneCutter.Cut(model, plan);
        var encoder = new ImageEncoder(source.Preprocessing, new ImageDecoder { MaxPixels = options.MaxPixels });
        return new FeatureBackbone(source, BackboneKind.Image, cut, plan.Tensor, checked((int)plan.Dimension),
            source.ModelSha256, sessions, encoder, null);
    }

    private static FeatureBackbone LoadSpeech(ResolvedBackbone source, FeatureBackboneOptions options, SessionFactory sessions)
    {
        var stages = source.Manifest!.Audio?.Stages ?? ["melspectrogram.onnx", "embedding_model.onnx"];
        var frontEnd = new SpeechFrontEnd(source.PathOf(stages[0]), source.PathOf(stages[^1]));
        var encoder = new AudioClipEncoder(frontEnd, options.SpeechWindow);
        var embedding = source.Manifest.Audio?.EmbeddingDim ?? 96;
        // The front end already yields embeddings; the "cut model" only flattens the window to one vector,
        // so speech and image datasets share the same extraction pipeline and feature store.
        var model = SpeechWindowModel(options.SpeechWindow, embedding);
        var sha = FileChecksum.Sha256(source.PathOf(stages[^1]));
        return new FeatureBackbone(source, BackboneKind.Speech, model, $"embedding[{options.SpeechWindow}x{embedding}]",
            options.SpeechWindow * embedding, sha, sessions, encoder, frontEnd);
    }

    /// <summary>[N,window,dim] → features [N,window·dim].</summary>
    internal static OnnxModel SpeechWindowModel(int window, int dim)
    {
        var model = OnnxModel.Create("speech_window");
        var g = new GraphBuilder(model.Graph);
        var x = g.Input("embeddings", DataType.Float, [null, window, dim], ["batch"]);
        var flat = g.Node("Flatten", [x], OnnxAttribute.Int("axis", 1));
        g.Alias(flat, BackboneCutter.FeaturesOutput);
        g.Output(BackboneCutter.FeaturesOutput, DataType.Float, [null, window * dim], ["batch"]);
        return model;
    }

    /// <summary>The description a feature store records for features from this backbone.</summary>
    internal FeatureStoreMetadata Describe() =>
        new(Name, Sha256, FeatureTensor, Preprocessing?.ToString() ?? $"speech:{Source.Manifest?.Name}:window={Dimension}", Dimension);

    /// <summary>Loads a dataset with the file types this backbone reads; items outside its folder only when <paramref name="allowOutsidePaths"/>.</summary>
    public Dataset LoadDataset(string path, bool allowOutsidePaths = false) =>
        DatasetLoader.Load(path, new DatasetLoadOptions { Extensions = DatasetExtensions, AllowOutsidePaths = allowOutsidePaths });

    /// <summary>Extracts features of <paramref name="items"/> into a Parquet feature store (resumable).</summary>
    public async Task<FeatureExtractionSummary> ExtractAsync(IReadOnlyList<DatasetItem> items, string outPath,
        FeatureExtractionOptions? options = null, IProgress<ProgressUpdate>? progress = null, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(items);
        ArgumentException.ThrowIfNullOrEmpty(outPath);
        using var lease = _guard.Enter();
        var (session, concurrentBatches) = ExtractionSession();
        return await new FeatureExtractor(session, Encoder, Describe(), _logger, concurrentBatches).RunAsync(items, outPath, options, progress, ct)
            .ConfigureAwait(false);
    }

    /// <summary>
    /// The session extraction runs and how many batches it runs at once. On CPU with untuned settings: a session
    /// with one intra-op thread, run by half the cores at once, so decode workers and inference share the cores without
    /// ORT's threads waiting for each other (`bench extract`, hymenoptera, 2 loaded cores: 10.6 → 8.7 ms CPU per image).
    /// Otherwise <see cref="Session"/>, one batch at a time.
    /// </summary>
    private (InferenceSession Session, int ConcurrentBatches) ExtractionSession()
    {
        var (_, concurrent) = ExtractionThreads;
        if (concurrent == 0) return (_session.Value, 1);
        lock (_extractionGate)
        {
            if (_extractionSession is null)
            {
                _extractionSessions = SessionFactory.Create(ExecutionDevice.Cpu, ExtractionSettings);
                try { _extractionSession = _extractionSessions.CreateSession(FeatureModel.ToBytes()); }
                catch
                {
                    _extractionSessions.Dispose();
                    _extractionSessions = null;
                    throw;
                }
            }
            return (_extractionSession, concurrent);
        }
    }

    /// <summary>
    /// Settings of the CPU extraction session: one thread, no spinning, and no memory pattern (the arena alone reuses
    /// the buffers; `extract` on hymenoptera peaked 3-4 MB lower). The arena stays: without it glibc's per-thread heaps
    /// grew the peak by 10-25 MB.
    /// </summary>
    internal static SessionSettings ExtractionSettings { get; } =
        SessionSettings.Default with { IntraOpThreads = 1, IntraOpSpinning = false, MemoryPattern = false };

    /// <summary>Intra-op threads of each extraction run and runs at once (0: <see cref="Session"/>, one run at a time).</summary>
    internal (int IntraOpThreads, int ConcurrentBatches) ExtractionThreads =>
        _tuned || _sessions.Provider != SessionFactory.CpuProvider ? (SessionSettings.EffectiveIntraOpThreads, 0) : (1, Math.Max(1, Environment.ProcessorCount / 2));

    /// <summary>
    /// Waits for extractions still running (cancel them first: an extraction can take minutes), then frees the sessions;
    /// later calls throw <see cref="ObjectDisposedException"/>.
    /// </summary>
    public void Dispose()
    {
        if (!_guard.Close()) return;
        if (_session.IsValueCreated) _session.Value.Dispose();
        _extractionSession?.Dispose();
        _extractionSessions?.Dispose();
        _frontEnd?.Dispose();
        _sessions.Dispose();
    }
}
