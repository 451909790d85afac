using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using OnnxTransfer.Audio;
using OnnxTransfer.Data;
using OnnxTransfer.Export;
using OnnxTransfer.Imaging;
using OnnxTransfer.Onnx;
using OnnxTransfer.Runtime;
using SkiaSharp;
using ModelMetadata = OnnxTransfer.Export.ModelMetadata;

namespace OnnxTransfer.Inference;

/// <summary>
/// A classifier exported by <c>onnxtransfer export</c>, ready to label images: the one .onnx file carries the
/// labels and the preprocessing in its metadata, so nothing else ships beside it. Handles both input kinds:
/// float tensors (<see cref="ModelInputKind.ImageTensor"/>: decode, resize, crop and normalise here) and uint8 RGB
/// HWC (<see cref="ModelInputKind.ImageBytes"/>: decode, resize and crop here; the graph normalises). Speech
/// classifiers (<see cref="ModelInputKind.SpeechEmbeddings"/>, from <c>fit</c> on a speech backbone) label WAV files,
/// bytes or streams: the front end named in the metadata is resolved through the backbone registry and run here
/// (<see cref="AudioClipEncoder"/>: resample to 16 kHz, the last window of embeddings).
/// </summary>
/// <remarks>
/// <para><b>Threading.</b> One instance serves any number of concurrent callers: every Predict call decodes into
/// its own buffers and runs the shared <see cref="InferenceSession"/>, whose <c>Run</c> is thread-safe; the
/// decoder and preprocessor keep no per-call state. Load once and share (e.g. a singleton in a web app) — creating a
/// session per request is far slower. Each session run uses the session's intra-op threads
/// (<see cref="SessionSettings.IntraOpThreads"/>, default one per core); with many concurrent requests, fewer
/// intra-op threads (1–2) usually give better total throughput. <see cref="Dispose"/> waits for calls still running
/// on other threads, then frees the session; calls made after it throw <see cref="ObjectDisposedException"/>.</para>
/// <para><b>Batching.</b> <c>PredictBatch</c> decodes its items in parallel and runs them in ONNX Runtime runs of at most
/// <see cref="MaxRunBatch"/> items (models with a fixed batch size run in chunks of that size).</para>
/// <para><b>Devices.</b> CPU unless a device is given (<see cref="ExecutionDevice.Auto"/> tries CUDA first).</para>
/// <para><b>Async.</b> The <c>…Async</c> methods run the CPU-bound work on the thread pool so UI and request threads
/// stay free; they do not make a single prediction faster. Their token stops decoding between items and a session
/// run under way (ONNX Runtime's terminate flag), so a cancelled call ends promptly with <see cref="OperationCanceledException"/>.</para>
/// <para><b>Logging.</b> Given an <see cref="ILogger"/> at load, the model logs its load, a device fallback and
/// each file <see cref="PredictFiles"/> skips (warnings); nothing is written to the console.</para>
/// </remarks>
/// <example>
/// <code>
/// using var model = TransferModel.Load("ants-bees.onnx");        // once, shared by all requests
/// var p = model.Predict("photo.jpg");                            // or bytes, a Stream, an SKBitmap
/// Console.WriteLine($"{p.Label} {p.Score:P1}");                  // "bees 93.2%"
/// foreach (var (label, probability) in p.Top(3)) { ... }
/// </code>
/// </example>
public sealed class TransferModel : ITransferModel, IDisposable
{
    private readonly SessionFactory _sessions;
    private readonly InferenceSession _session;
    private readonly string _inputName;
    private readonly long[] _sampleShape;
    private readonly int _sampleLength;
    private readonly int? _fixedBatch;
    private readonly ImageDecoder _decoder = new();
    private readonly ImagePreprocessing _decodeTarget;
    private readonly ImagePreprocessor? _preprocessor;
    private readonly bool _bytes;
    private readonly SpeechFrontEnd? _frontEnd;
    private readonly AudioClipEncoder? _audio;
    private ILogger _logger = NullLogger.Instance;
    private readonly ResourceGuard _guard = new(nameof(TransferModel));

    private TransferModel(string name, ModelMetadata metadata, SessionFactory sessions, InferenceSession session,
        string inputName, SpeechFrontEnd frontEnd, int window, int? fixedBatch)
    {
        Name = name;
        Metadata = metadata;
        _sessions = sessions;
        _session = session;
        _inputName = inputName;
        _fixedBatch = fixedBatch;
        _frontEnd = frontEnd;
        _audio = new AudioClipEncoder(frontEnd, window);
        _decodeTarget = ImagePreprocessing.ImageNet; // unused: no image path reaches a speech model
        _sampleShape = _audio.SampleShape.ToArray();
        _sampleLength = window * SpeechFrontEnd.EmbeddingSize;
    }

    private TransferModel(string name, ModelMetadata metadata, SessionFactory sessions, InferenceSession session,
        string inputName, ImagePreprocessing preprocessing, int? fixedBatch)
    {
        Name = name;
        Metadata = metadata;
        _sessions = sessions;
        _session = session;
        _inputName = inputName;
        _fixedBatch = fixedBatch;
        _decodeTarget = preprocessing;
        _bytes = metadata.InputKind == ModelInputKind.ImageBytes;
        // uint8 models get the resized, cropped pixels themselves: the same resampling with an identity
        // normalisation in RGB HWC, rounded to bytes below.
        _preprocessor = new ImagePreprocessor(_bytes
            ? preprocessing with { Scale = 1f, Mean = [0f, 0f, 0f], Std = [1f, 1f, 1f], Bgr = false, Layout = TensorLayout.Nhwc }
            : preprocessing);
        _sampleShape = _preprocessor.SampleShape.ToArray();
        _sampleLength = _preprocessor.SampleLength;
    }

    /// <summary>
    /// Most items in one session run. A larger batch is no faster on a CPU, takes memory in proportion, and makes a
    /// cancelled call wait longer: ONNX Runtime checks the terminate flag between nodes, and one node of a 240-image
    /// batch took about 0.5 s on 2 cores.
    /// </summary>
    public const int MaxRunBatch = 32;

    /// <summary>The model file's name (for messages).</summary>
    public string Name { get; }

    /// <summary>Everything the model carries about itself (labels, preprocessing, backbone, head, metrics).</summary>
    public ModelMetadata Metadata { get; }

    /// <summary>Class labels in output order.</summary>
    public IReadOnlyList<string> Labels => Metadata.Labels;

    /// <summary>What the graph's input is.</summary>
    public ModelInputKind InputKind => Metadata.InputKind;

    /// <summary>The preprocessing applied before the graph (resize and crop; for float models also normalisation); null for speech models.</summary>
    public ImagePreprocessing? Preprocessing => _audio is null ? _decodeTarget : null;

    /// <summary>File extensions this model's inputs use: images, or audio for speech models.</summary>
    public IReadOnlyList<string> InputExtensions => _audio is null ? InputFiles.ImageExtensions : InputFiles.AudioExtensions;

    /// <summary>The execution provider in use (e.g. CPUExecutionProvider).</summary>
    public string Provider => _sessions.Provider;

    /// <summary>One line when the device fell back (auto → CPU), else null.</summary>
    public string? DeviceWarning => _sessions.Warning;

    /// <summary>Loads an exported model on <paramref name="device"/> (default CPU).</summary>
    /// <param name="path">The model file written by `onnxtransfer export` / `fit`.</param>
    /// <param name="device">Where it runs (default CPU).</param>
    /// <param name="settings">Session threads and options.</param>
    /// <param name="frontEnds">
    /// For speech models: finds the audio front end named in the model's metadata (default:
    /// <see cref="SpeechFrontEndFiles.FromCache"/>; the OnnxTransfer package's <c>BackboneRegistry.SpeechFrontEnd</c> also pulls it).
    /// </param>
    /// <exception cref="OnnxTransferException">Missing file, not ONNX, not exported by OnnxTransfer, or a features-only model (the message says what to use instead).</exception>
    /// <param name="logger">Receives the load, a device fallback and files skipped later (default: none).</param>
    public static TransferModel Load(string path, ExecutionDevice? device = null, SessionSettings? settings = null,
        Func<string, SpeechFrontEndFiles>? frontEnds = null, ILogger? logger = null)
    {
        logger ??= NullLogger.Instance;
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var model = LoadModel(path, frontEnds ?? (n => SpeechFrontEndFiles.FromCache(n)), device, settings, logger);
        model._logger = logger;
        logger.LogInformation("Loaded {Model} ({InputKind}, {LabelCount} labels) on {Provider} in {Milliseconds} ms",
            model.Name, model.InputKind, model.Labels.Count, model.Provider, clock.ElapsedMilliseconds);
        return model;
    }

    private static TransferModel LoadModel(string path, Func<string, SpeechFrontEndFiles> frontEnds, ExecutionDevice? device, SessionSettings? settings, ILogger logger)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        if (!File.Exists(path) && !Directory.Exists(path))
            throw new OnnxTransferException($"{path}: model file not found; export one with `onnxtransfer export`.");
        OnnxFormatException.EnsureReadable(path);
        var name = System.IO.Path.GetFileName(path);
        var sessions = SessionFactory.Create(device ?? ExecutionDevice.Cpu, settings, logger);
        InferenceSession? session = null;
        try
        {
            try { session = sessions.CreateSession(path); }
            catch (OnnxTransferException e) when (e.InnerException is OnnxRuntimeException ort)
            {
                throw new OnnxFormatException($"{path}: ONNX Runtime cannot load it ({OnnxTransferException.OneLine(ort.Message)}); give a model written by `onnxtransfer export`.", e);
            }
            var metadata = ModelMetadata.Read(session.ModelMetadata.CustomMetadataMap, name);
            if (metadata.InputKind == ModelInputKind.SpeechEmbeddings)
                return LoadSpeech(name, metadata, sessions, session, frontEnds);
            var (input, preprocessing, fixedBatch) = Check(name, metadata, session);
            return new TransferModel(name, metadata, sessions, session, input, preprocessing, fixedBatch);
        }
        catch
        {
            session?.Dispose();
            sessions.Dispose();
            throw;
        }
    }

    /// <summary>Labels an image file (JPEG, PNG, BMP, GIF, WebP; EXIF orientation applied), or a WAV file for a speech model.</summary>
    /// <exception cref="ArgumentException"><paramref name="path"/> is null or empty.</exception>
    /// <exception cref="ObjectDisposedException">The model was disposed.</exception>
    public Prediction Predict(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        return Run([FileEncoder(path)], default)[0];
    }

    /// <summary>Labels an encoded image (file contents) held in memory, or WAV bytes for a speech model.</summary>
    public Prediction Predict(byte[] encoded, string name = "image")
    {
        ArgumentNullException.ThrowIfNull(encoded);
        ArgumentNullException.ThrowIfNull(name);
        return RunEncoded([BytesInput(encoded, name)], default)[0];
    }

    /// <summary>Labels an encoded image (or WAV clip for a speech model) read from <paramref name="stream"/> (read to its end, not closed).</summary>
    public Prediction Predict(Stream stream, string name = "image")
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentNullException.ThrowIfNull(name);
        return RunEncoded([StreamInput(stream, name)], default)[0];
    }

    /// <summary>Labels a bitmap as displayed (no EXIF orientation; alpha composited on white).</summary>
    public Prediction Predict(SKBitmap bitmap, string name = "bitmap")
    {
        ArgumentNullException.ThrowIfNull(bitmap);
        ArgumentNullException.ThrowIfNull(name);
        return RunImages([() => _decoder.FromBitmap(bitmap, name)], default)[0];
    }

    /// <summary>Labels image (or, for a speech model, WAV) files in one batch; a file that cannot be read throws (use <see cref="PredictFiles"/> to go on past bad files).</summary>
    public IReadOnlyList<Prediction> PredictBatch(IEnumerable<string> paths) => Run(FileEncoders(paths), default);

    /// <summary>Labels encoded images (or WAV clips for a speech model) in memory in one batch.</summary>
    public IReadOnlyList<Prediction> PredictBatch(IEnumerable<byte[]> encoded) => RunEncoded(BytesInputs(encoded), default);

    /// <summary>Labels encoded images (or WAV clips for a speech model) from streams in one batch.</summary>
    public IReadOnlyList<Prediction> PredictBatch(IEnumerable<Stream> streams) =>
        RunEncoded(NonNull(streams).Select((s, i) => StreamInput(s, $"stream[{i}]")).ToArray(), default);

    /// <summary>Labels bitmaps in one batch.</summary>
    public IReadOnlyList<Prediction> PredictBatch(IEnumerable<SKBitmap> bitmaps) =>
        RunImages(NonNull(bitmaps).Select((b, i) => (Func<DecodedImage>)(() => _decoder.FromBitmap(b, $"bitmap[{i}]"))).ToArray(), default);

    /// <summary>
    /// Labels many files, <paramref name="batchSize"/> per session run, in input order. A file that cannot be read
    /// (missing, corrupt, not an image) gives a <see cref="FilePrediction"/> with <see cref="FilePrediction.Error"/>
    /// and the rest go on. Results stream out batch by batch; <paramref name="ct"/> also stops a session run under way.
    /// </summary>
    public IEnumerable<FilePrediction> PredictFiles(IEnumerable<string> paths, int batchSize = 32, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(paths);
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        _guard.ThrowIfClosed();
        return PredictChunks(paths, batchSize, ct);
    }

    private IEnumerable<FilePrediction> PredictChunks(IEnumerable<string> paths, int batchSize, CancellationToken ct)
    {
        foreach (var chunk in paths.Chunk(batchSize))
        {
            ct.ThrowIfCancellationRequested();
            var (predictions, errors) = PredictChunk(chunk, ct);
            foreach (var error in errors.Where(e => e is not null))
                _logger.LogWarning("{Model}: skipped a file: {Error}", Name, error);
            for (int i = 0, k = 0; i < chunk.Length; i++)
                yield return errors[i] is { } error
                    ? new FilePrediction(chunk[i], null, error)
                    : new FilePrediction(chunk[i], predictions[k++], null);
        }
    }

    // The guard is held for one chunk, not across the yields: a caller may dispose the model while enumerating.
    private (Prediction[] Predictions, string?[] Errors) PredictChunk(string[] chunk, CancellationToken ct)
    {
        using var lease = _guard.Enter();
        var inputs = new Input(chunk.Length, _sampleLength, _bytes);
        var errors = new string?[chunk.Length];
        Parallel.For(0, chunk.Length, new ParallelOptions { CancellationToken = ct }, i =>
        {
            if (chunk[i] is null) { errors[i] = "no path (null)"; return; }
            try { EncodeFile(chunk[i], inputs, i); }
            catch (OnnxTransferException e) { errors[i] = e.Message; }
        });
        var good = Enumerable.Range(0, chunk.Length).Where(i => errors[i] is null).ToArray();
        var predictions = good.Length == 0 ? [] : Infer(good.Length == chunk.Length ? inputs : inputs.Select(good), ct);
        return (predictions, errors);
    }

    /// <summary>Labels an image file on the thread pool; <paramref name="ct"/> also stops the session run under way.</summary>
    public Task<Prediction> PredictAsync(string path, CancellationToken ct = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        _guard.ThrowIfClosed();
        return Task.Run(() => Run([FileEncoder(path)], ct)[0], ct);
    }

    /// <summary>Labels encoded image (or WAV) bytes on the thread pool.</summary>
    public Task<Prediction> PredictAsync(byte[] encoded, string name = "image", CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(encoded);
        ArgumentNullException.ThrowIfNull(name);
        _guard.ThrowIfClosed();
        return Task.Run(() => RunEncoded([BytesInput(encoded, name)], ct)[0], ct);
    }

    /// <summary>Reads <paramref name="stream"/> asynchronously (e.g. a request body), then labels it on the thread pool.</summary>
    public Task<Prediction> PredictAsync(Stream stream, string name = "image", CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentNullException.ThrowIfNull(name);
        _guard.ThrowIfClosed();
        return ReadThenPredictAsync(stream, name, ct);
    }

    private async Task<Prediction> ReadThenPredictAsync(Stream stream, string name, CancellationToken ct)
    {
        using var buffer = new MemoryStream();
        await stream.CopyToAsync(buffer, ct).ConfigureAwait(false);
        var bytes = buffer.ToArray();
        return await Task.Run(() => RunEncoded([BytesInput(bytes, name)], ct)[0], ct).ConfigureAwait(false);
    }

    /// <summary>Labels a bitmap on the thread pool.</summary>
    public Task<Prediction> PredictAsync(SKBitmap bitmap, string name = "bitmap", CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(bitmap);
        ArgumentNullException.ThrowIfNull(name);
        _guard.ThrowIfClosed();
        return Task.Run(() => RunImages([() => _decoder.FromBitmap(bitmap, name)], ct)[0], ct);
    }

    /// <summary>Labels image files in one batch on the thread pool; <paramref name="ct"/> stops decoding and the session run under way.</summary>
    public Task<IReadOnlyList<Prediction>> PredictBatchAsync(IEnumerable<string> paths, CancellationToken ct = default)
    {
        var encoders = FileEncoders(paths);
        _guard.ThrowIfClosed();
        return Task.Run(() => (IReadOnlyList<Prediction>)Run(encoders, ct), ct);
    }

    /// <summary>Labels encoded images (or WAV clips) in one batch on the thread pool; <paramref name="ct"/> stops decoding and the session run under way.</summary>
    public Task<IReadOnlyList<Prediction>> PredictBatchAsync(IEnumerable<byte[]> encoded, CancellationToken ct = default)
    {
        var inputs = BytesInputs(encoded);
        _guard.ThrowIfClosed();
        return Task.Run(() => (IReadOnlyList<Prediction>)RunEncoded(inputs, ct), ct);
    }

    /// <summary>
    /// The exact input one image becomes: float values in the model's layout (<see cref="ModelInputKind.ImageTensor"/>),
    /// or the resized, cropped RGB HWC bytes widened to float (<see cref="ModelInputKind.ImageBytes"/>).
    /// For checking a deployment against another runtime.
    /// </summary>
    public float[] PreprocessFile(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        using var lease = _guard.Enter();
        var input = new Input(1, _sampleLength, _bytes);
        EncodeFile(path, input, 0);
        return _bytes ? input.Bytes!.Select(b => (float)b).ToArray() : input.Floats!;
    }

    /// <summary>Waits for predictions still running on other threads, then frees the session; later calls throw <see cref="ObjectDisposedException"/>.</summary>
    public void Dispose()
    {
        if (!_guard.Close()) return;
        _session.Dispose();
        _frontEnd?.Dispose();
        _sessions.Dispose();
    }

    private static T[] NonNull<T>(IEnumerable<T> items, [System.Runtime.CompilerServices.CallerArgumentExpression(nameof(items))] string? name = null)
        where T : class
    {
        ArgumentNullException.ThrowIfNull(items, name);
        var array = items.ToArray();
        for (var i = 0; i < array.Length; i++)
            if (array[i] is null) throw new ArgumentException($"{name}[{i}] is null.", name);
        return array;
    }

    private Action<Input, int> FileEncoder(string path) => (inputs, slot) => EncodeFile(path, inputs, slot);

    private Action<Input, int>[] FileEncoders(IEnumerable<string> paths) => NonNull(paths).Select(FileEncoder).ToArray();

    private (Func<DecodedImage> Image, Func<AudioClip> Clip, string Name) BytesInput(byte[] encoded, string name) =>
        EncodedInput(() => _decoder.Decode(encoded, name, _decodeTarget), () => ReadWav(encoded, name), name);

    private (Func<DecodedImage> Image, Func<AudioClip> Clip, string Name) StreamInput(Stream stream, string name) =>
        EncodedInput(() => _decoder.Decode(stream, name, _decodeTarget), () => ReadWav(stream, name), name);

    private (Func<DecodedImage> Image, Func<AudioClip> Clip, string Name)[] BytesInputs(IEnumerable<byte[]> encoded) =>
        NonNull(encoded).Select((b, i) => BytesInput(b, $"image[{i}]")).ToArray();

    private Prediction[] RunImages(IReadOnlyList<Func<DecodedImage>> decoders, CancellationToken ct)
    {
        if (_audio is not null)
            throw new OnnxTransferException($"{Name}: a speech model labels WAV audio, not bitmaps; pass a file path, WAV bytes or a stream.");
        return Run(decoders.Select(d => (Action<Input, int>)((inputs, slot) => Encode(d, inputs, slot))).ToArray(), ct);
    }

    private static (Func<DecodedImage> Image, Func<AudioClip> Clip, string Name) EncodedInput(Func<DecodedImage> image, Func<AudioClip> clip, string name) =>
        (image, clip, name);

    /// <summary>Encoded inputs in memory: decoded as images, or as WAV clips by a speech model.</summary>
    private Prediction[] RunEncoded(IReadOnlyList<(Func<DecodedImage> Image, Func<AudioClip> Clip, string Name)> inputs, CancellationToken ct) =>
        Run(inputs.Select(x => _audio is null
            ? (Action<Input, int>)((batch, slot) => Encode(x.Image, batch, slot))
            : (batch, slot) => _audio.Encode(x.Clip(), x.Name, batch.Floats.AsSpan(slot * _sampleLength, _sampleLength))).ToArray(), ct);

    private static AudioClip ReadWav(byte[] encoded, string name) => WavReader.Read(new MemoryStream(encoded, writable: false), name);

    private static AudioClip ReadWav(Stream stream, string name)
    {
        if (stream.CanSeek) return WavReader.Read(stream, name);
        // The reader seeks between chunks; a network stream is buffered first.
        using var buffer = new MemoryStream();
        stream.CopyTo(buffer);
        buffer.Position = 0;
        return WavReader.Read(buffer, name);
    }

    private void EncodeFile(string path, Input inputs, int slot)
    {
        global::OnnxTransfer.InputFile.EnsureReadable(path);
        if (_audio is null)
            Encode(() => _decoder.Decode(path, _decodeTarget), inputs, slot);
        else
            _audio.Encode(new DatasetItem(path, path, "", ""), inputs.Floats.AsSpan(slot * _sampleLength, _sampleLength));
    }

    private Prediction[] Run(IReadOnlyList<Action<Input, int>> encoders, CancellationToken ct)
    {
        using var lease = _guard.Enter();
        if (encoders.Count == 0) return [];
        var inputs = new Input(encoders.Count, _sampleLength, _bytes);
        if (encoders.Count == 1)
        {
            encoders[0](inputs, 0);
            return Infer(inputs, ct);
        }
        // The first bad item (in input order) is thrown as itself, not wrapped in an AggregateException.
        var errors = new Exception?[encoders.Count];
        Parallel.For(0, encoders.Count, new ParallelOptions { CancellationToken = ct }, i =>
        {
            try { encoders[i](inputs, i); }
            catch (Exception e) { errors[i] = e; }
        });
        if (errors.FirstOrDefault(e => e is not null) is { } first)
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(first);
        return Infer(inputs, ct);
    }

    private void Encode(Func<DecodedImage> decode, Input inputs, int slot)
    {
        using var image = decode();
        if (!_bytes)
        {
            _preprocessor!.Process(image, inputs.Floats!.AsSpan(slot * _sampleLength, _sampleLength));
            return;
        }
        var scratch = System.Buffers.ArrayPool<float>.Shared.Rent(_sampleLength);
        try
        {
            var values = scratch.AsSpan(0, _sampleLength);
            _preprocessor!.Process(image, values);
            var bytes = inputs.Bytes!.AsSpan(slot * _sampleLength, _sampleLength);
            for (var i = 0; i < values.Length; i++)
                bytes[i] = ToByte(values[i]);
        }
        finally
        {
            System.Buffers.ArrayPool<float>.Shared.Return(scratch);
        }
    }

    /// <summary>Rounds a resampled pixel value to the nearest byte (halves away from zero), clamped to 0..255.</summary>
    internal static byte ToByte(float v) => v <= 0 ? (byte)0 : v >= 255 ? (byte)255 : (byte)MathF.Round(v, MidpointRounding.AwayFromZero);

    private Prediction[] Infer(Input inputs, CancellationToken ct)
    {
        var step = _fixedBatch ?? Math.Min(inputs.Count, MaxRunBatch);
        var result = new Prediction[inputs.Count];
        for (var start = 0; start < inputs.Count; start += step)
        {
            var n = Math.Min(step, inputs.Count - start);
            // A fixed batch dimension larger than what is left is padded with zeros; the padding rows are dropped.
            var chunk = start == 0 && n == inputs.Count && step == n ? inputs : inputs.Slice(start, n, step);
            RunSession(chunk, result, start, n, ct);
        }
        return result;
    }

    private void RunSession(Input input, Prediction[] result, int offset, int count, CancellationToken ct)
    {
        ct.ThrowIfCancellationRequested();
        long[] shape = [input.Count, .. _sampleShape];
        try
        {
            using var value = input.Bytes is { } b
                ? OrtValue.CreateTensorValueFromMemory(b, shape)
                : OrtValue.CreateTensorValueFromMemory(input.Floats!, shape);
            using var runOptions = new RunOptions();
            // ONNX Runtime checks the flag between nodes, so a cancelled call ends within one node, not one batch.
            using var terminate = ct.Register(static o => ((RunOptions)o!).Terminate = true, runOptions);
            using var outputs = _session.Run(runOptions, [_inputName], [value], [ModelMetadata.ProbabilitiesOutput, ModelMetadata.LabelOutput]);
            var probabilities = outputs[0].GetTensorDataAsSpan<float>();
            var labels = outputs[1].GetTensorDataAsSpan<long>();
            var c = Labels.Count;
            if (probabilities.Length != input.Count * c || labels.Length != input.Count)
                throw new OnnxFormatException($"{Name}: the model gave {probabilities.Length} probabilities for {input.Count} images of {c} labels; the file does not match its metadata — re-export it.");
            for (var i = 0; i < count; i++)
                result[offset + i] = new Prediction(Metadata.Labels, probabilities.Slice(i * c, c).ToArray(), checked((int)labels[i]));
        }
        catch (OnnxRuntimeException) when (ct.IsCancellationRequested)
        {
            throw new OperationCanceledException(ct);
        }
        catch (OnnxRuntimeException e)
        {
            throw new OnnxTransferException($"{Name}: ONNX Runtime could not run the model ({OnnxTransferException.OneLine(e.Message)}).", e);
        }
    }

    private static TransferModel LoadSpeech(string name, ModelMetadata metadata, SessionFactory sessions, InferenceSession session, Func<string, SpeechFrontEndFiles> frontEnds)
    {
        var frontEndName = metadata.FrontEnd
            ?? throw new OnnxFormatException($"{name}: a speech model without 'onnxtransfer.front_end' metadata, so its audio front end is unknown; re-export it with `onnxtransfer fit`.");
        CheckOutputs(name, metadata, session);
        if (session.InputMetadata.Count != 1)
            throw new OnnxFormatException($"{name}: {session.InputMetadata.Count} inputs ({string.Join(", ", session.InputMetadata.Keys)}); an exported speech classifier has one.");
        var (inputName, meta) = session.InputMetadata.First();
        var dims = meta.Dimensions;
        if (meta.ElementDataType != TensorElementType.Float || dims.Length != 3 || dims[1] is <= 0 or > MaxSpeechWindow || dims[2] != SpeechFrontEnd.EmbeddingSize)
            throw new OnnxFormatException($"{name}: input '{inputName}' is {meta.ElementDataType} [{string.Join(",", dims)}]; a speech classifier takes float [N,window,{SpeechFrontEnd.EmbeddingSize}] embeddings — re-export it.");
        var files = frontEnds(frontEndName);
        var frontEnd = new SpeechFrontEnd(files.MelModel, files.EmbeddingModel);
        return new TransferModel(name, metadata, sessions, session, inputName, frontEnd, checked((int)dims[1]), dims[0] > 0 ? checked((int)dims[0]) : null);
    }

    // About a minute of speech (12.5 embeddings a second): far more than any head reads, small enough to allocate.
    private const int MaxSpeechWindow = 1024;

    private static void CheckOutputs(string name, ModelMetadata metadata, InferenceSession session)
    {
        foreach (var output in new[] { ModelMetadata.ProbabilitiesOutput, ModelMetadata.LabelOutput })
            if (!session.OutputMetadata.ContainsKey(output))
                throw new OnnxFormatException($"{name}: no '{output}' output (outputs: {string.Join(", ", session.OutputMetadata.Keys)}); re-export the model with `onnxtransfer export`.");
    }

    private static (string Input, ImagePreprocessing Preprocessing, int? FixedBatch) Check(string name, ModelMetadata metadata, InferenceSession session)
    {
        switch (metadata.InputKind)
        {
            case ModelInputKind.Features:
                throw new OnnxTransferException($"{name}: a head alone (input: feature vectors); TransferModel labels images — export it with its backbone (`onnxtransfer export --backbone NAME --head DIR`), or run the head with Training.Heads.HeadModel.");
        }
        if (metadata.Preprocessing is null)
            throw new OnnxFormatException($"{name}: no 'onnxtransfer.preprocessing' metadata, so images cannot be prepared for it; re-export it with `onnxtransfer export`.");
        ImagePreprocessing preprocessing;
        try { preprocessing = ImagePreprocessing.Parse(metadata.Preprocessing); }
        catch (OnnxTransferException e)
        {
            throw new OnnxFormatException($"{name}: its 'onnxtransfer.preprocessing' metadata is unusable ({e.Message.TrimEnd('.')}); re-export the model with `onnxtransfer export`.", e);
        }
        CheckOutputs(name, metadata, session);
        if (session.InputMetadata.Count != 1)
            throw new OnnxFormatException($"{name}: {session.InputMetadata.Count} inputs ({string.Join(", ", session.InputMetadata.Keys)}); an exported image classifier has one.");
        var (inputName, meta) = session.InputMetadata.First();
        var bytes = metadata.InputKind == ModelInputKind.ImageBytes;
        var wantType = bytes ? TensorElementType.UInt8 : TensorElementType.Float;
        if (meta.ElementDataType != wantType)
            throw new OnnxFormatException($"{name}: input '{inputName}' is {meta.ElementDataType} but the metadata says {metadata.InputKind} ({wantType}); re-export the model.");
        long[] expected = bytes
            ? [preprocessing.Height, preprocessing.Width, 3]
            : preprocessing.Layout == TensorLayout.Nchw ? [3, preprocessing.Height, preprocessing.Width] : [preprocessing.Height, preprocessing.Width, 3];
        var dims = meta.Dimensions;
        // -1 is a free dimension; anything else must match (a declared size beyond int reads as 0 here).
        if (dims.Length != 4 || Enumerable.Range(0, 3).Any(k => dims[k + 1] != -1 && dims[k + 1] != expected[k]))
            throw new OnnxFormatException($"{name}: input '{inputName}' has shape [{string.Join(",", dims)}] but the preprocessing '{preprocessing}' makes [N,{string.Join(",", expected)}]; re-export the model.");
        return (inputName, preprocessing, dims[0] > 0 ? dims[0] : null);
    }

    /// <summary>A batch of model inputs: float or byte values, <see cref="Count"/> samples.</summary>
    private sealed class Input
    {
        public Input(int count, int sampleLength, bool bytes)
        {
            Count = count;
            SampleLength = sampleLength;
            if (bytes) Bytes = new byte[checked(count * sampleLength)];
            else Floats = new float[checked(count * sampleLength)];
        }

        public int Count { get; }
        public int SampleLength { get; }
        public float[]? Floats { get; }
        public byte[]? Bytes { get; }

        /// <summary>Samples [start, start+n) in a new batch of <paramref name="size"/> (zero padded).</summary>
        public Input Slice(int start, int n, int size)
        {
            var copy = new Input(size, SampleLength, Bytes is not null);
            if (Bytes is not null) Array.Copy(Bytes, start * SampleLength, copy.Bytes!, 0, n * SampleLength);
            else Array.Copy(Floats!, start * SampleLength, copy.Floats!, 0, n * SampleLength);
            return copy;
        }

        /// <summary>The samples at <paramref name="rows"/>, in that order.</summary>
        public Input Select(IReadOnlyList<int> rows)
        {
            var copy = new Input(rows.Count, SampleLength, Bytes is not null);
            for (var k = 0; k < rows.Count; k++)
            {
                if (Bytes is not null) Array.Copy(Bytes, rows[k] * SampleLength, copy.Bytes!, k * SampleLength, SampleLength);
                else Array.Copy(Floats!, rows[k] * SampleLength, copy.Floats!, k * SampleLength, SampleLength);
            }
            return copy;
        }
    }
}
