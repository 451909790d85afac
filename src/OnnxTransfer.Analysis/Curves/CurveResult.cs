namespace OnnxTransfer.Curves;

/// <summary>One training run of a learning curve, scored on the curve's evaluation set.</summary>
/// <param name="Method">How it learned.</param>
/// <param name="PerClass">Examples per class asked for (null = the whole pool).</param>
/// <param name="Seed">Seed of its subset, initialisation and shuffling.</param>
/// <param name="TrainExamples">Training images used.</param>
/// <param name="Epochs">Epochs run.</param>
/// <param name="Accuracy">Accuracy on the evaluation set.</param>
/// <param name="BalancedAccuracy">Mean per-class recall on the evaluation set (what accuracy would be with balanced classes).</param>
/// <param name="Seconds">Training (and scoring) time, caches excluded.</param>
public sealed record CurveRun(CurveMethod Method, int? PerClass, ulong Seed, int TrainExamples, int Epochs, double Accuracy, double BalancedAccuracy, double Seconds);

/// <summary>A method at one size: the mean and sample standard deviation over its seeds.</summary>
/// <param name="Method">The method.</param>
/// <param name="PerClass">Examples per class (null = all).</param>
/// <param name="Seeds">Runs averaged.</param>
/// <param name="TrainExamples">Mean training images per run.</param>
/// <param name="Accuracy">Mean accuracy.</param>
/// <param name="AccuracySd">Sample standard deviation of accuracy (NaN for one seed).</param>
/// <param name="BalancedAccuracy">Mean balanced accuracy.</param>
/// <param name="BalancedAccuracySd">Sample standard deviation of balanced accuracy (NaN for one seed).</param>
/// <param name="Seconds">Mean seconds per run.</param>
public sealed record CurvePoint(CurveMethod Method, int? PerClass, int Seeds, double TrainExamples, double Accuracy, double AccuracySd,
    double BalancedAccuracy, double BalancedAccuracySd, double Seconds)
{
    /// <summary>Summarises <paramref name="runs"/> (one method and size).</summary>
    public static CurvePoint From(IReadOnlyList<CurveRun> runs)
    {
        if (runs.Count == 0) throw new ArgumentException("no runs to summarise.", nameof(runs));
        return new CurvePoint(runs[0].Method, runs[0].PerClass, runs.Count, runs.Average(r => r.TrainExamples),
            runs.Average(r => r.Accuracy), SampleSd(runs.Select(r => r.Accuracy).ToArray()),
            runs.Average(r => r.BalancedAccuracy), SampleSd(runs.Select(r => r.BalancedAccuracy).ToArray()), runs.Average(r => r.Seconds));
    }

    private static double SampleSd(double[] values)
    {
        if (values.Length < 2) return double.NaN;
        var mean = values.Average();
        return Math.Sqrt(values.Sum(v => (v - mean) * (v - mean)) / (values.Length - 1));
    }
}

/// <summary>A whole learning curve: what was compared on which data, every run, and where the caches are.</summary>
/// <param name="Dataset">Dataset root.</param>
/// <param name="Backbone">Backbone name.</param>
/// <param name="Classes">Class names.</param>
/// <param name="EvalName">Where the evaluation images came from.</param>
/// <param name="EvalCounts">Evaluation images per class.</param>
/// <param name="PoolCounts">Training-pool images per class.</param>
/// <param name="Settings">The settings that shape the runs (sizes, seeds, unfreeze, pixel size, training), as text, for the report and for resuming.</param>
/// <param name="Runs">Every run finished, in run order.</param>
/// <param name="CacheSeconds">Time spent filling the caches (activations, pixels) in this call.</param>
public sealed record CurveResult(string Dataset, string Backbone, string[] Classes, string EvalName, IReadOnlyDictionary<string, int> EvalCounts,
    IReadOnlyDictionary<string, int> PoolCounts, IReadOnlyDictionary<string, string> Settings, IReadOnlyList<CurveRun> Runs, double CacheSeconds)
{
    /// <summary>Evaluation images.</summary>
    public int EvalCount => EvalCounts.Values.Sum();

    /// <summary>Mean and sd per method and size, sizes in ascending order (all last), methods in run order.</summary>
    public IReadOnlyList<CurvePoint> Points() => Runs
        .GroupBy(r => (r.Method, r.PerClass))
        .OrderBy(g => g.Key.PerClass ?? int.MaxValue).ThenBy(g => g.Key.Method)
        .Select(g => CurvePoint.From(g.ToArray())).ToArray();
}
