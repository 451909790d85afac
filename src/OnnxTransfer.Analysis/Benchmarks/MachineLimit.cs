namespace OnnxTransfer.Benchmarks;

/// <summary>
/// The most items per second a machine can push through decode + inference when every core is busy with
/// useful work all the time: cores ÷ (decode CPU seconds per item + inference CPU seconds per item), both
/// measured single-threaded as process CPU time. A pipeline cannot beat it without doing less work per item.
/// </summary>
/// <param name="Cores">Logical processors available.</param>
/// <param name="DecodeCpuSecondsPerItem">CPU time to decode and preprocess one item.</param>
/// <param name="InferenceCpuSecondsPerItem">CPU time of inference per item (at the benchmark's batch size, one intra-op thread).</param>
public sealed record MachineLimit(int Cores, double DecodeCpuSecondsPerItem, double InferenceCpuSecondsPerItem)
{
    /// <summary>CPU seconds one item costs in all.</summary>
    public double CpuSecondsPerItem => DecodeCpuSecondsPerItem + InferenceCpuSecondsPerItem;

    /// <summary>The limit in items per second.</summary>
    public double ItemsPerSecond => CpuSecondsPerItem > 0 ? Cores / CpuSecondsPerItem : double.PositiveInfinity;

    /// <summary>From totals: <paramref name="decodeCpuSeconds"/> over <paramref name="decodedItems"/>, <paramref name="inferenceCpuSeconds"/> over <paramref name="inferredItems"/>.</summary>
    public static MachineLimit FromTotals(int cores, double decodeCpuSeconds, int decodedItems, double inferenceCpuSeconds, int inferredItems)
    {
        if (cores < 1) throw new ArgumentOutOfRangeException(nameof(cores), cores, "at least one core");
        if (decodedItems < 1 || inferredItems < 1) throw new ArgumentException("measure at least one item");
        return new MachineLimit(cores, decodeCpuSeconds / decodedItems, inferenceCpuSeconds / inferredItems);
    }
}
