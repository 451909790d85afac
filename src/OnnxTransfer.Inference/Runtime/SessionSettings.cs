using Microsoft.ML.OnnxRuntime;

namespace OnnxTransfer.Runtime;

/// <summary>
/// Session tuning independent of the device. Defaults suit CPU inference: one intra-op thread per core,
/// all graph optimisations, memory pattern and CPU arena on.
/// </summary>
/// <param name="IntraOpThreads">Threads inside one operator; 0 = one per core.</param>
/// <param name="InterOpThreads">Threads across independent operators.</param>
/// <param name="OptimizationLevel">Graph optimisation level.</param>
/// <param name="MemoryPattern">Reuse allocation plans between runs of the same shapes.</param>
/// <param name="CpuMemArena">Use ORT's CPU arena allocator.</param>
/// <param name="IntraOpSpinning">Let idle intra-op threads spin (ORT's default); off frees the cores for other work such as image decoding.</param>
public sealed record SessionSettings(
    int IntraOpThreads = 0,
    int InterOpThreads = 1,
    GraphOptimizationLevel OptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
    bool MemoryPattern = true,
    bool CpuMemArena = true,
    bool IntraOpSpinning = true)
{
    /// <summary>The defaults.</summary>
    public static SessionSettings Default { get; } = new();

    /// <summary>Intra-op threads actually used.</summary>
    public int EffectiveIntraOpThreads => IntraOpThreads > 0 ? IntraOpThreads : Environment.ProcessorCount;

    /// <summary>Applies these settings to <paramref name="options"/>.</summary>
    public void ApplyTo(SessionOptions options)
    {
        options.IntraOpNumThreads = EffectiveIntraOpThreads;
        options.InterOpNumThreads = Math.Max(1, InterOpThreads);
        options.GraphOptimizationLevel = OptimizationLevel;
        options.EnableMemoryPattern = MemoryPattern;
        options.EnableCpuMemArena = CpuMemArena;
        options.AddSessionConfigEntry("session.intra_op.allow_spinning", IntraOpSpinning ? "1" : "0");
    }
}
