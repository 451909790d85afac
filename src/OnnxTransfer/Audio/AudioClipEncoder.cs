using OnnxTransfer.Data;
using OnnxTransfer.Features;

namespace OnnxTransfer.Audio;

/// <summary>
/// Encodes a WAV clip as the input of a wake-word head: the last <see cref="EmbeddingCount"/> (default 16,
/// about 1.3 s) speech embeddings of <see cref="SpeechFrontEnd"/>, row-major [16, 96].
/// </summary>
/// <remarks>
/// Pad/crop rule (openWakeWord's convention that the phrase ends near the end of the clip): the clip is read
/// with <see cref="WavReader"/>, resampled to 16 kHz, then its END is aligned with the end of the last
/// embedding window. The encoder embeds exactly the last (count + 9) × 1280 samples (32000 = 2 s for 16):
/// shorter clips are left-padded with zeros (digital silence), longer clips keep only their end, so trailing
/// silence longer than ~0.2 s pushes the phrase out of the window — trim it when preparing data. The result
/// equals the last embeddings <see cref="SpeechStream"/> gives after streaming the padded clip, and the
/// backbone never sees samples the window does not cover. Thread-safe (no mutable state; the front end's
/// sessions allow concurrent runs); the front end is not owned.
/// </remarks>
public sealed class AudioClipEncoder : ISampleEncoder
{
    private readonly SpeechFrontEnd _frontEnd;

    /// <summary>Creates the encoder over a loaded <paramref name="frontEnd"/> (not disposed by the encoder).</summary>
    public AudioClipEncoder(SpeechFrontEnd frontEnd, int embeddingCount = 16)
    {
        if (embeddingCount < 1) throw new OnnxTransferException($"embedding count {embeddingCount} must be at least 1 (openWakeWord heads read 16).");
        _frontEnd = frontEnd;
        EmbeddingCount = embeddingCount;
        SampleShape = [embeddingCount, SpeechFrontEnd.EmbeddingSize];
    }

    /// <summary>Embeddings per clip (rows of the sample).</summary>
    public int EmbeddingCount { get; }

    /// <summary>16 kHz samples the window covers: (count + 9) × 1280.</summary>
    public int WindowSamples => (EmbeddingCount + SpeechFrontEnd.WarmupChunks - 1) * SpeechFrontEnd.ChunkSamples;

    /// <inheritdoc />
    public IReadOnlyList<long> SampleShape { get; }

    /// <inheritdoc />
    public void Encode(DatasetItem item, Span<float> destination)
    {
        var clip = WavReader.Read(item.Path);
        if (clip.Samples.Length == 0)
            throw new AudioFormatException($"{item.Path}: the clip holds no audio samples; remove it or record it again.");
        Encode(clip.ResampleTo(SpeechFrontEnd.SampleRate).Samples, destination);
    }

    /// <summary>Encodes 16 kHz samples in [-1,1] with the pad/crop rule of the class remarks.</summary>
    public void Encode(ReadOnlySpan<float> samples16k, Span<float> destination)
    {
        var size = EmbeddingCount * SpeechFrontEnd.EmbeddingSize;
        if (destination.Length != size)
            throw new ArgumentException($"destination holds {destination.Length} floats, the sample needs {size}", nameof(destination));
        var window = new float[WindowSamples];
        var take = Math.Min(samples16k.Length, window.Length);
        samples16k[^take..].CopyTo(window.AsSpan(window.Length - take));
        _frontEnd.Embed(window).CopyTo(destination);
    }
}
