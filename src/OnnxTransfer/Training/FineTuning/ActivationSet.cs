using OnnxTransfer.Data;

namespace OnnxTransfer.Training.FineTuning;

/// <summary>Cached boundary activations: one flattened slice per item, computed once by the frozen prefix.</summary>
internal sealed class ActivationSet : IActivationSource
{
    /// <summary>Wraps <paramref name="values"/> (items.Count × the product of <paramref name="sampleShape"/> floats).</summary>
    /// <exception cref="ArgumentException">The sizes disagree.</exception>
    public ActivationSet(float[] values, IReadOnlyList<long> sampleShape, IReadOnlyList<DatasetItem> items)
    {
        SampleSize = checked((int)sampleShape.Aggregate(1L, (a, d) => a * d));
        if (values.Length != (long)SampleSize * items.Count)
            throw new ArgumentException($"{values.Length} activations do not hold {items.Count} samples of {SampleSize}.", nameof(values));
        (Values, SampleShape, Items) = (values, sampleShape, items);
    }

    /// <summary>The activations, item after item.</summary>
    public float[] Values { get; }

    /// <inheritdoc />
    public IReadOnlyList<long> SampleShape { get; }

    /// <inheritdoc />
    public IReadOnlyList<DatasetItem> Items { get; }

    /// <summary>Floats per item.</summary>
    public int SampleSize { get; }

    /// <summary>One item's activations.</summary>
    public ReadOnlySpan<float> Row(int row) => Values.AsSpan(row * SampleSize, SampleSize);

    /// <inheritdoc />
    public void Fill(int epoch, ReadOnlySpan<int> rows, Span<float> destination)
    {
        for (var k = 0; k < rows.Length; k++) Row(rows[k]).CopyTo(destination.Slice(k * SampleSize, SampleSize));
    }

    /// <summary>A new set holding <paramref name="rows"/> in that order (copied).</summary>
    public ActivationSet Subset(IReadOnlyList<int> rows)
    {
        var values = new float[rows.Count * SampleSize];
        Fill(0, rows.ToArray(), values);
        return new ActivationSet(values, SampleShape, rows.Select(r => Items[r]).ToArray());
    }
}
