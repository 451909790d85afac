using OnnxTransfer.Data;

namespace OnnxTransfer.Features;

/// <summary>
/// Turns one dataset item (an image file, an audio clip) into one sample of the backbone's input tensor.
/// Implementations are thread-safe: the extraction pipeline calls <see cref="Encode"/> from several workers.
/// </summary>
internal interface ISampleEncoder
{
    /// <summary>Shape of one sample without the batch dimension (e.g. [3,224,224]).</summary>
    IReadOnlyList<long> SampleShape { get; }

    /// <summary>
    /// Fills <paramref name="destination"/> (length = product of <see cref="SampleShape"/>) with the encoded
    /// sample. Bad input throws <see cref="OnnxTransferException"/> naming the file.
    /// </summary>
    void Encode(DatasetItem item, Span<float> destination);
}
