using OnnxTransfer.Data;
using OnnxTransfer.Features;

namespace OnnxTransfer.Audio;

/// <summary>
/// Encodes a WAV clip as the input of a wake-word head: the last <see cref="EmbeddingCount"/> (default 16,
/// about 1.3 s) speech embeddings of <see cref="SpeechFrontEnd"/>, row-major [16, 96].
/// </summary>
/// <remarks>
/// Pad/crop rule (openWakeWord's convention that the phrase ends near the end of the clip): the clip is read
/// with <see cref="WavReader"/>, resampled to 16 kHz, and its END is aligned with the end of the last
/// embedding window. Precisely: the clip is left-padded with zeros (digital silence) to a whole number of
/// 1280-sample chunks, and to at least <see cref="WindowSamples"/> (count + 10 chunks: 33280 samples =
/// 2.08 s for 16); the result equals the last <see cref="EmbeddingCount"/> embeddings
/// <see cref="SpeechStream"/> emits when streaming that padded signal. Only its last count + 10 chunks are
/// computed (count + 9 chunks feed the windows, plus one for the first window's 480-sample mel context), so
/// long clips cost the same as short ones, and audio before the last ~2 s has no influence: trailing silence
/// longer than ~0.2 s pushes the phrase out of the window, so trim it when preparing data. Thread-safe (no
/// mutable state; the front end's sessions allow concurrent runs); the front end is not owned.
/// </remarks>
internal sealed class AudioClipEncoder : ISampleEncoder
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

    /// <summary>16 kHz samples that influence the encoding: (count + 10) × 1280.</summary>
    public int WindowSamples => (EmbeddingCount + SpeechFrontEnd.WarmupChunks) * SpeechFrontEnd.ChunkSamples;

    /// <inheritdoc />
    public IReadOnlyList<long> SampleShape { get; }

    /// <inheritdoc />
    public void Encode(DatasetItem item, Span<float> destination) => Encode(WavReader.Read(item.Path), item.Path, destination);

    /// <summary>Encodes a decoded clip at any sample rate (resampled to 16 kHz); <paramref name="name"/> appears in errors.</summary>
    public void Encode(AudioClip clip, string name, Span<float> destination)
    {
        if (clip.Samples.Length == 0)
            throw new AudioFormatException($"{name}: the clip holds no audio samples; remove it or record it again.");
        Encode(clip.ResampleTo(SpeechFrontEnd.SampleRate).Samples, destination);
    }

    /// <summary>Encodes 16 kHz samples in [-1,1] with the pad/crop rule of the class remarks.</summary>
    public void Encode(ReadOnlySpan<float> samples16k, Span<float> destination)
    {
        var size = EmbeddingCount * SpeechFrontEnd.EmbeddingSize;
        if (destination.Length != size)
            throw new ArgumentException($"destination holds {destination.Length} floats, the sample needs {size}", nameof(destination));
        // End-aligned: the clip's last sample is the window's last sample; the rest is zero padding.
        var window = new float[WindowSamples];
        var take = Math.Min(samples16k.Length, window.Length);
        samples16k[^take..].CopyTo(window.AsSpan(window.Length - take));
        _frontEnd.EmbedLast(window, EmbeddingCount).CopyTo(destination);
    }
}
