using OnnxTransfer.Data;

namespace OnnxTransfer.Training.FineTuning;

/// <summary>
/// Where fine-tuning gets the frozen prefix's boundary activations for a mini-batch: a cache filled once
/// (<see cref="ActivationSet"/>), or a source that runs the prefix per batch (needed when images are augmented).
/// </summary>
internal interface IActivationSource
{
    /// <summary>The labelled items, row order.</summary>
    IReadOnlyList<DatasetItem> Items { get; }

    /// <summary>Shape of one sample's activations (no batch dimension).</summary>
    IReadOnlyList<long> SampleShape { get; }

    /// <summary>Writes the activations of <paramref name="rows"/> back to back into <paramref name="destination"/>.</summary>
    /// <param name="epoch">1-based epoch, so a source that augments can draw per-epoch variations reproducibly (0 = evaluation, no augmentation).</param>
    /// <param name="rows">Row indices into <see cref="Items"/>.</param>
    /// <param name="destination">rows.Length × sample size floats.</param>
    void Fill(int epoch, ReadOnlySpan<int> rows, Span<float> destination);
}
