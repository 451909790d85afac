using Microsoft.ML.OnnxRuntime;

using OnnxTransfer.Runtime;
namespace OnnxTransfer.Audio;

/// <summary>
/// openWakeWord's frozen speech backbone: 16 kHz audio -> log-mel frames (melspectrogram.onnx, 32 bins, one
/// frame per 10 ms) -> one 96-d embedding per 80 ms from the last 76 frames (embedding_model.onnx, Google's
/// speech_embedding). Batch (<see cref="Embed"/>) and streaming (<see cref="CreateStream"/>) share one
/// windowing rule and give the same embeddings.
/// </summary>
/// <remarks>
/// <para><b>Scale.</b> Samples are taken in [-1,1] and multiplied by 32768 before the mel model, which expects
/// int16 values as floats; for 16-bit PCM read by <see cref="WavReader"/> this restores the exact integers
/// openWakeWord feeds. The mel output is mapped by x/10 + 2 (openWakeWord's transform).</para>
/// <para><b>Frames.</b> The mel model does not pad: N samples give 1 + floor((N − 512)/160) frames, frame i
/// covering samples [160·i, 160·i + 512). It is not frame-local, though: like librosa's
/// <c>power_to_db(top_db=80)</c> it floors every value at (largest value in the call − 80 dB), the maximum
/// taken over the whole input tensor, batch rows included. So both modes run it on exactly the same spans,
/// one call per 80 ms chunk of 1280 samples (openWakeWord's streaming rule): the first chunk alone (5 frames),
/// then each later chunk with the 480 samples before it (1760 samples, 8 frames). After m chunks 8m − 3
/// frames exist (<see cref="FramesAfterChunks"/>), on the grid of frame i starting at sample 160·i
/// (<see cref="ChunkedMelspectrogram"/>).</para>
/// <para><b>Windows (shared by both modes).</b> Embedding m is computed from the 76 frames that exist after
/// chunk m: frames [8m − 79, 8m − 3). The first embedding therefore comes after <see cref="WarmupChunks"/> =
/// 10 chunks (0.8 s) and a clip of N samples gives floor(N/1280) − 9 embeddings
/// (<see cref="EmbeddingCount"/>; 16 for 2 s); samples after the last whole chunk are not used.</para>
/// <para><b>Versus upstream.</b> This is what openWakeWord's streaming <c>AudioFeatures</c> computes (its first
/// call sees 1280 samples, later calls the last 1760), except that it pads the first 0.8 s with dummy mel
/// frames of ones where this class emits nothing until 76 real frames exist. openWakeWord's batch
/// <c>embed_clips</c>/<c>_get_embeddings</c> differ from its own streaming: windows start at frame 0 (one
/// 10 ms frame earlier than here) and the mel runs on whole clips (or batches of clips) in one call, so quiet
/// frames floor relative to the loudest frame of the clip/batch rather than of the surrounding 110 ms. Here
/// training features (batch) and detection (streaming) are identical by construction.</para>
/// <para><b>Threads.</b> The two ONNX Runtime sessions are created once. The methods of this class keep no
/// state and may be called from several threads at once (ORT sessions allow concurrent runs). A <see cref="SpeechStream"/> belongs to one audio source and one thread at a time.</para>
/// </remarks>
public sealed class SpeechFrontEnd : IDisposable
{
    /// <summary>Sample rate the models expect.</summary>
    public const int SampleRate = 16000;
    /// <summary>Samples per streaming step (80 ms); one embedding per chunk after warm-up.</summary>
    public const int ChunkSamples = 1280;
    /// <summary>Mel hop in samples (10 ms).</summary>
    public const int HopSamples = 160;
    /// <summary>Samples under one mel frame.</summary>
    public const int FrameSamples = 512;
    /// <summary>Mel bins per frame.</summary>
    public const int MelBins = 32;
    /// <summary>Mel frames added by each chunk.</summary>
    public const int FramesPerChunk = ChunkSamples / HopSamples;
    /// <summary>Mel frames read by one embedding.</summary>
    public const int WindowFrames = 76;
    /// <summary>Length of one embedding.</summary>
    public const int EmbeddingSize = 96;
    /// <summary>Chunks needed before the first embedding (8·10 − 3 ≥ 76 frames).</summary>
    public const int WarmupChunks = 10;
    /// <summary>Samples kept from the previous chunk when streaming: 1280 + 480 samples give 8 new frames.</summary>
    public const int StreamContextSamples = 3 * HopSamples; // the next frame starts 480 samples before the new chunk
    /// <summary>Factor from [-1,1] samples to the int16-valued floats the mel model expects.</summary>
    public const float PcmScale = 32768f;

    private const int MaxEmbeddingBatch = 64;

    private readonly InferenceSession _mel;
    private readonly InferenceSession _embedding;
    private readonly string _melInput, _melOutput, _embInput, _embOutput;
    private readonly RunOptions _runOptions = new(); // read-only after creation; shared by concurrent runs
    private readonly ResourceGuard _guard = new(nameof(SpeechFrontEnd));

    /// <summary>
    /// Loads openWakeWord's <c>melspectrogram.onnx</c> and <c>embedding_model.onnx</c>; sessions run single-threaded on
    /// the CPU (best for streaming, and for extraction that parallelises across clips).
    /// </summary>
    public SpeechFrontEnd(string melModelPath, string embeddingModelPath) : this(melModelPath, embeddingModelPath, null) { }

    /// <summary>As the public constructor, with the sessions made by <paramref name="sessions"/> (owned by the caller) when given.</summary>
    internal SpeechFrontEnd(string melModelPath, string embeddingModelPath, SessionFactory? sessions)
    {
        ArgumentException.ThrowIfNullOrEmpty(melModelPath);
        ArgumentException.ThrowIfNullOrEmpty(embeddingModelPath);
        using var defaults = sessions is null ? SessionFactory.ForTraining(ExecutionDevice.Cpu, 1) : null;
        var opts = sessions ?? defaults!;
        _mel = Load(melModelPath, opts);
        try
        {
            _embedding = Load(embeddingModelPath, opts);
        }
        catch
        {
            _mel.Dispose();
            throw;
        }
        try
        {
            (_melInput, _melOutput) = Check(_mel, melModelPath, "melspectrogram", inputDims: 2, outputLast: MelBins);
            (_embInput, _embOutput) = Check(_embedding, embeddingModelPath, "embedding", inputDims: 4, outputLast: EmbeddingSize);
            var dims = _embedding.InputMetadata[_embInput].Dimensions;
            if (dims[1] != WindowFrames || dims[2] != MelBins)
                throw new OnnxTransferException($"{embeddingModelPath}: input is [{string.Join(",", dims)}], expected [N,{WindowFrames},{MelBins},1]; pass openWakeWord's embedding_model.onnx.");
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    /// <summary>Loads <c>melspectrogram.onnx</c> and <c>embedding_model.onnx</c> from <paramref name="directory"/>.</summary>
    public static SpeechFrontEnd Open(string directory) => Open(directory, null);

    /// <summary>As <see cref="Open(string)"/>, with sessions from <paramref name="sessions"/> when given.</summary>
    internal static SpeechFrontEnd Open(string directory, SessionFactory? sessions) =>
        new(Path.Combine(directory, "melspectrogram.onnx"), Path.Combine(directory, "embedding_model.onnx"), sessions);

    /// <summary>Mel frames for <paramref name="samples"/> samples: 1 + floor((N − 512)/160), 0 below 512.</summary>
    public static long MelFrameCount(long samples) => samples < FrameSamples ? 0 : 1 + (samples - FrameSamples) / HopSamples;

    /// <summary>Mel frames available after <paramref name="chunks"/> whole chunks: 8m − 3 (0 for none).</summary>
    public static long FramesAfterChunks(long chunks) => MelFrameCount(chunks * ChunkSamples);

    /// <summary>Embeddings for a clip of <paramref name="samples"/> samples: max(0, floor(N/1280) − 9).</summary>
    public static long EmbeddingCount(long samples) => Math.Max(0, samples / ChunkSamples - (WarmupChunks - 1));

    /// <summary>
    /// Log-mel frames of 16 kHz <paramref name="samples"/> in [-1,1] from ONE model call, mapped by x/10 + 2:
    /// row-major [<see cref="MelFrameCount"/>, 32]. The 80 dB floor is relative to the loudest frame of the
    /// whole input; the embeddings use <see cref="ChunkedMelspectrogram"/> instead.
    /// </summary>
    public float[] Melspectrogram(ReadOnlySpan<float> samples)
    {
        var frames = MelFrameCount(samples.Length);
        var mel = new float[frames * MelBins];
        if (frames > 0) MelInto(samples, mel);
        return mel;
    }

    /// <summary>
    /// Mel frames exactly as streaming computes them (see the class remarks): one model call per whole
    /// 1280-sample chunk, row-major [<see cref="FramesAfterChunks"/>(floor(N/1280)), 32], mapped by x/10 + 2.
    /// </summary>
    public float[] ChunkedMelspectrogram(ReadOnlySpan<float> samples)
    {
        var chunks = samples.Length / ChunkSamples;
        var mel = new float[FramesAfterChunks(chunks) * MelBins];
        var frame = 0;
        for (var m = 1; m <= chunks; m++)
        {
            var end = m * ChunkSamples;
            var input = m == 1 ? samples[..end] : samples[(end - ChunkSamples - StreamContextSamples)..end];
            var frames = (int)MelFrameCount(input.Length);
            MelInto(input, mel.AsSpan(frame * MelBins, frames * MelBins));
            frame += frames;
        }
        return mel;
    }

    /// <summary>
    /// Embeddings of a whole 16 kHz clip in [-1,1]: row-major [<see cref="EmbeddingCount"/>, 96], row j being
    /// the embedding streaming emits after chunk 10 + j (see the class remarks).
    /// </summary>
    public float[] Embed(ReadOnlySpan<float> samples) => EmbedLast(samples, int.MaxValue);

    /// <summary>The last <paramref name="count"/> (at most) rows of <see cref="Embed"/>, computing only those windows.</summary>
    public float[] EmbedLast(ReadOnlySpan<float> samples, int count)
    {
        var total = EmbeddingCount(samples.Length);
        var n = (int)Math.Min(total, count);
        var result = new float[n * EmbeddingSize];
        if (n == 0) return result;
        var mel = ChunkedMelspectrogram(samples);
        var ends = new int[n];
        for (var j = 0; j < n; j++) ends[j] = (int)FramesAfterChunks(WarmupChunks + total - n + j);
        EmbedWindows(mel, ends, result);
        return result;
    }

    /// <summary>A streaming state for one audio source (see <see cref="SpeechStream"/>).</summary>
    /// <param name="history">Embeddings kept for <see cref="SpeechStream.TryGetLatest"/> (16 for an openWakeWord head).</param>
    public SpeechStream CreateStream(int history = 16)
    {
        _guard.ThrowIfClosed();
        return new(this, history);
    }

    /// <summary>Runs the mel model on <paramref name="samples"/> and writes transformed frames to <paramref name="destination"/>.</summary>
    internal void MelInto(ReadOnlySpan<float> samples, Span<float> destination)
    {
        using var lease = _guard.Enter();
        var input = new float[samples.Length];
        for (var i = 0; i < input.Length; i++) input[i] = samples[i] * PcmScale;
        using var value = OrtValue.CreateTensorValueFromMemory(input, [1, input.Length]);
        using var outputs = _mel.Run(_runOptions, [_melInput], [value], [_melOutput]);
        var mel = outputs[0].GetTensorDataAsSpan<float>();
        if (mel.Length != destination.Length)
            throw new OnnxTransferException($"melspectrogram model gave {mel.Length / MelBins} frames for {samples.Length} samples, expected {destination.Length / MelBins}; pass openWakeWord's melspectrogram.onnx.");
        for (var i = 0; i < mel.Length; i++) destination[i] = mel[i] / 10f + 2f;
    }

    /// <summary>
    /// The windowing shared by batch and streaming: for each end frame e in <paramref name="windowEnds"/>,
    /// embeds mel frames [e − 76, e) of <paramref name="mel"/> (row-major, 32 per frame) into the next 96
    /// values of <paramref name="destination"/>.
    /// </summary>
    internal void EmbedWindows(ReadOnlySpan<float> mel, ReadOnlySpan<int> windowEnds, Span<float> destination)
    {
        using var lease = _guard.Enter();
        const int windowValues = WindowFrames * MelBins;
        for (var start = 0; start < windowEnds.Length; start += MaxEmbeddingBatch)
        {
            var n = Math.Min(MaxEmbeddingBatch, windowEnds.Length - start);
            var input = new float[n * windowValues];
            for (var k = 0; k < n; k++)
            {
                var end = windowEnds[start + k];
                mel.Slice((end - WindowFrames) * MelBins, windowValues).CopyTo(input.AsSpan(k * windowValues));
            }
            using var value = OrtValue.CreateTensorValueFromMemory(input, [n, WindowFrames, MelBins, 1]);
            using var outputs = _embedding.Run(_runOptions, [_embInput], [value], [_embOutput]);
            outputs[0].GetTensorDataAsSpan<float>().CopyTo(destination.Slice(start * EmbeddingSize, n * EmbeddingSize));
        }
    }

    /// <summary>Waits for runs still in progress on other threads, then frees the sessions; later calls (and streams) throw <see cref="ObjectDisposedException"/>.</summary>
    public void Dispose()
    {
        if (!_guard.Close()) return;
        _mel?.Dispose();
        _embedding?.Dispose();
        _runOptions.Dispose();
    }

    private static InferenceSession Load(string path, SessionFactory sessions)
    {
        if (!File.Exists(path))
            throw new OnnxTransferException($"{path}: model not found; pass the folder holding openWakeWord's melspectrogram.onnx and embedding_model.onnx.");
        try
        {
            return sessions.CreateSession(path);
        }
        catch (OnnxTransferException ex) when (ex.InnerException is OnnxRuntimeException e)
        {
            throw new OnnxTransferException($"{path}: ONNX Runtime cannot load the model ({e.Message.Split('\n')[0].Trim()}); check the file is intact.", e);
        }
    }

    private static (string Input, string Output) Check(InferenceSession session, string path, string what, int inputDims, int outputLast)
    {
        if (session.InputMetadata.Count != 1 || session.OutputMetadata.Count != 1)
            throw new OnnxTransferException($"{path}: expected one input and one output; pass openWakeWord's {what} model.");
        var (input, inMeta) = session.InputMetadata.First();
        var (output, outMeta) = session.OutputMetadata.First();
        if (inMeta.Dimensions.Length != inputDims || outMeta.Dimensions.Length == 0 || outMeta.Dimensions[^1] != outputLast)
            throw new OnnxTransferException($"{path}: input [{string.Join(",", inMeta.Dimensions)}] / output [{string.Join(",", outMeta.Dimensions)}] do not match openWakeWord's {what} model; pass the right file.");
        return (input, output);
    }
}
