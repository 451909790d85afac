namespace OnnxTransfer.Audio;

/// <summary>
/// Streaming state of <see cref="SpeechFrontEnd"/> for one audio source: feed 16 kHz samples in [-1,1]
/// (any lengths; they are cut into 1280-sample chunks), get one embedding per chunk once 10 chunks (0.8 s)
/// have arrived. Keeps only the last 480 samples and 76 mel frames, so memory is constant. The embeddings
/// equal <see cref="SpeechFrontEnd.Embed"/> on the same audio. Not thread-safe: one stream per source.
/// </summary>
public sealed class SpeechStream
{
    private const int Bins = SpeechFrontEnd.MelBins;
    private readonly SpeechFrontEnd _frontEnd;
    private readonly float[] _pending = new float[SpeechFrontEnd.ChunkSamples];
    private int _pendingCount;
    // [last 480 samples of the previous chunk | current chunk]: 1760 samples give exactly 8 new frames.
    private readonly float[] _audio = new float[SpeechFrontEnd.StreamContextSamples + SpeechFrontEnd.ChunkSamples];
    // The newest frames, oldest first; after warm-up exactly the 76 frames the next embedding reads.
    private readonly float[] _mel = new float[SpeechFrontEnd.WindowFrames * Bins];
    private int _melFrames;
    private readonly float[] _history;   // ring of the last embeddings
    private int _historyNext;

    internal SpeechStream(SpeechFrontEnd frontEnd, int history)
    {
        if (history < 1) throw new ArgumentOutOfRangeException(nameof(history), "keep at least one embedding");
        _frontEnd = frontEnd;
        _history = new float[history * SpeechFrontEnd.EmbeddingSize];
    }

    /// <summary>Whole chunks consumed so far.</summary>
    public long Chunks { get; private set; }

    /// <summary>Embeddings produced so far (chunks − 9 after warm-up).</summary>
    public long EmbeddingsProduced { get; private set; }

    /// <summary>
    /// Feeds <paramref name="samples"/>; returns the embeddings (96 floats each) completed by them, oldest
    /// first: none during warm-up, then one per whole chunk. A partial chunk waits for the next call.
    /// </summary>
    public IReadOnlyList<float[]> Push(ReadOnlySpan<float> samples)
    {
        var produced = new List<float[]>();
        while (!samples.IsEmpty)
        {
            var take = Math.Min(samples.Length, _pending.Length - _pendingCount);
            samples[..take].CopyTo(_pending.AsSpan(_pendingCount));
            _pendingCount += take;
            samples = samples[take..];
            if (_pendingCount < _pending.Length) break;
            _pendingCount = 0;
            if (PushChunk(_pending) is { } embedding) produced.Add(embedding);
        }
        return produced;
    }

    /// <summary>
    /// Feeds exactly one 1280-sample chunk (no partial chunk may be pending from <see cref="Push"/>); returns
    /// its embedding, or null during the first 9 chunks.
    /// </summary>
    public float[]? PushChunk(ReadOnlySpan<float> chunk)
    {
        if (chunk.Length != SpeechFrontEnd.ChunkSamples)
            throw new ArgumentException($"a chunk is {SpeechFrontEnd.ChunkSamples} samples, got {chunk.Length}", nameof(chunk));
        if (_pendingCount != 0)
            throw new InvalidOperationException("a partial chunk is pending from Push; keep feeding through Push");

        const int context = SpeechFrontEnd.StreamContextSamples;
        // Keep the last 480 samples of the previous chunk in front of the new one. The first chunk has no
        // history: its 1280 samples give the first 5 frames, exactly as in batch mode.
        _audio.AsSpan(SpeechFrontEnd.ChunkSamples, context).CopyTo(_audio);
        chunk.CopyTo(_audio.AsSpan(context));
        ReadOnlySpan<float> melInput = Chunks == 0 ? _audio.AsSpan(context) : _audio;

        var newFrames = (int)SpeechFrontEnd.MelFrameCount(melInput.Length);
        var keep = Math.Min(_melFrames, SpeechFrontEnd.WindowFrames - newFrames);
        _mel.AsSpan((_melFrames - keep) * Bins, keep * Bins).CopyTo(_mel);
        _frontEnd.MelInto(melInput, _mel.AsSpan(keep * Bins, newFrames * Bins));
        _melFrames = keep + newFrames;
        Chunks++;
        if (_melFrames < SpeechFrontEnd.WindowFrames) return null;

        var embedding = new float[SpeechFrontEnd.EmbeddingSize];
        _frontEnd.EmbedWindows(_mel, [SpeechFrontEnd.WindowFrames], embedding);
        embedding.CopyTo(_history.AsSpan(_historyNext * SpeechFrontEnd.EmbeddingSize));
        _historyNext = (_historyNext + 1) % (_history.Length / SpeechFrontEnd.EmbeddingSize);
        EmbeddingsProduced++;
        return embedding;
    }

    /// <summary>
    /// Copies the latest <paramref name="count"/> embeddings, oldest first, into <paramref name="destination"/>
    /// (count·96 floats: the [16,96] input of an openWakeWord head for count = 16). False while fewer exist.
    /// </summary>
    public bool TryGetLatest(int count, Span<float> destination)
    {
        var capacity = _history.Length / SpeechFrontEnd.EmbeddingSize;
        if (count < 1 || count > capacity)
            throw new ArgumentOutOfRangeException(nameof(count), $"between 1 and the stream's history ({capacity})");
        if (destination.Length != count * SpeechFrontEnd.EmbeddingSize)
            throw new ArgumentException($"destination needs {count * SpeechFrontEnd.EmbeddingSize} floats", nameof(destination));
        if (EmbeddingsProduced < count) return false;
        for (var k = 0; k < count; k++)
        {
            var slot = ((_historyNext - count + k) % capacity + capacity) % capacity;
            _history.AsSpan(slot * SpeechFrontEnd.EmbeddingSize, SpeechFrontEnd.EmbeddingSize)
                .CopyTo(destination.Slice(k * SpeechFrontEnd.EmbeddingSize));
        }
        return true;
    }

    /// <summary>Forgets all audio (as if newly created).</summary>
    public void Reset()
    {
        _pendingCount = 0;
        _melFrames = 0;
        _historyNext = 0;
        Chunks = 0;
        EmbeddingsProduced = 0;
    }
}
