namespace OnnxTransfer.Benchmarks;

/// <summary>Counts a benchmark's steps and reports each to the caller's progress as "bench" runs.</summary>
/// <param name="progress">Where steps go; null: nowhere.</param>
/// <param name="total">Steps the benchmark will take.</param>
internal sealed class BenchmarkSteps(IProgress<ProgressUpdate>? progress, int total)
{
    private int _done;

    /// <summary>Text put before every step's message (e.g. which split is running).</summary>
    public string Prefix { get; set; } = "";

    /// <summary>Reports that the step <paramref name="what"/> starts.</summary>
    public void Next(string what) => progress?.Report(new ProgressUpdate("bench", _done++, total, "runs", Prefix + what));

    /// <summary>Reports that every step is done.</summary>
    public void Finish() => progress?.Report(new ProgressUpdate("bench", total, total, "runs"));
}
