using OnnxTransfer.Runtime;
using OnnxTransfer.Training.Engine;

namespace OnnxTransfer.Training.Heads;

/// <summary>The cross-validated L2 path: per strength, the folds' mean and standard error of the validation loss.</summary>
/// <param name="Scales">Strengths tried (multiples of 1/N), strongest first; the path stops after two rises of the mean.</param>
/// <param name="MeanLoss">Mean validation loss over the folds, per strength.</param>
/// <param name="StandardError">Standard error of that mean (fold standard deviation / √folds), per strength.</param>
/// <param name="MeanTrainLoss">Mean training loss of the fold solves, per strength.</param>
/// <param name="MeanTrainAccuracy">Mean training accuracy of the fold solves, per strength.</param>
/// <param name="MeanValAccuracy">Mean validation accuracy over the folds, per strength.</param>
/// <param name="Chosen">Index of the chosen strength (<see cref="L2CrossValidation.OneStandardError"/>).</param>
/// <param name="Iterations">L-BFGS iterations of all fold solves.</param>
internal sealed record L2Path(double[] Scales, double[] MeanLoss, double[] StandardError, double[] MeanTrainLoss, double[] MeanTrainAccuracy,
    double[] MeanValAccuracy, int Chosen, int Iterations);

/// <summary>
/// Chooses a linear head's L2 strength by k-fold cross-validation when the training rows are few: a 10 % carve of 250 rows
/// validates on 25, where the choice is close to random, while every row validates once over the folds. Each fold walks the
/// warm-started path of <see cref="Scales"/>; the strongest strength whose mean validation loss is
/// within one standard error of the lowest is kept (the one-standard-error rule: the folds cannot tell those apart, and the
/// stronger penalty generalises better; on hymenoptera over 30 splits it gained a third of a point over the lowest mean).
/// </summary>
internal static class L2CrossValidation
{
    /// <summary>
    /// The strengths cross-validated (multiples of 1/N), strongest first: <see cref="LinearHeadSolver.PathScales"/> led by stronger ones,
    /// which few rows in many dimensions favour (on hymenoptera they win more often than weaker ones) and which solve in a few iterations.
    /// </summary>
    internal static readonly double[] Scales = [10000, 3000, 1000, 300, .. LinearHeadSolver.PathScales];

    /// <summary>Folds of the cross-validation.</summary>
    internal const int Folds = 5;

    /// <summary>Most training rows cross-validated; above this a carve of ≥ 200 rows chooses well and the folds would cost 5× the solves.</summary>
    internal const int MaxRows = 2000;

    /// <summary>Whether <paramref name="rows"/> are cross-validated: at most <see cref="MaxRows"/>, and every class (or, multi-label, the
    /// whole set) has a row, or with <see cref="TrainingSet.Groups"/> a group, for each fold.</summary>
    public static bool AppliesTo(TrainingSet rows)
    {
        if (rows.Count > MaxRows || rows.Count < 2 * Folds) return false;
        var units = Enumerable.Range(0, rows.Count).Select(i => rows.Groups?[i] ?? i.ToString(System.Globalization.CultureInfo.InvariantCulture));
        if (rows.ClassIndex is not { } index) return units.Distinct(StringComparer.Ordinal).Count() >= Folds;
        return units.Select((unit, i) => (unit, Class: index[i])).Distinct().GroupBy(u => u.Class).All(g => g.Count() >= Folds);
    }

    /// <summary>
    /// The one-standard-error rule over a path ordered strongest first: the first (strongest) index whose mean is at most the lowest
    /// mean plus that minimum's standard error.
    /// </summary>
    public static int OneStandardError(IReadOnlyList<double> mean, IReadOnlyList<double> standardError)
    {
        var best = 0;
        for (var k = 1; k < mean.Count; k++) if (mean[k] < mean[best]) best = k;
        for (var k = 0; k < best; k++) if (mean[k] <= mean[best] + standardError[best]) return k;
        return best;
    }

    /// <summary>Runs the path on <see cref="Folds"/> stratified folds of <paramref name="rows"/> (seeded) and chooses a strength.</summary>
    public static L2Path Run(TrainingSet rows, TrainingOptions options, SessionFactory sessions, IProgress<ProgressUpdate>? progress, CancellationToken ct)
    {
        var fold = rows.FoldRows(Folds, options.Seed);
        var folds = new List<Fold>();
        try
        {
            for (var f = 0; f < Folds; f++) folds.Add(Fold.Create(rows, fold, f, options, sessions));
            var scales = Scales;
            var (mean, se, trainLoss, trainAcc, valAcc) = (new List<double>(), new List<double>(), new List<double>(), new List<double>(), new List<double>());
            var iterations = 0;
            var rises = 0;
            for (var k = 0; k < scales.Length && rises < 2; k++)
            {
                var scores = folds.Select(f => f.Solve(scales[k], options.Task!.Value, ref iterations, ct)).ToArray();
                var losses = scores.Select(s => s.ValLoss).ToArray();
                var m = losses.Average();
                if (!double.IsFinite(m))
                    throw LinearHeadSolver.Diverged("cross-validation", m);
                rises = mean.Count > 0 && m >= mean.Min() ? rises + 1 : 0;
                mean.Add(m);
                se.Add(Math.Sqrt(losses.Sum(l => (l - m) * (l - m)) / (Folds - 1) / Folds));
                trainLoss.Add(scores.Average(s => s.TrainLoss));
                trainAcc.Add(scores.Average(s => s.TrainAccuracy));
                valAcc.Add(scores.Average(s => s.ValAccuracy));
                progress?.Report(new ProgressUpdate("train", k + 1, scales.Length, "l2 strengths", FormattableString.Invariant(
                    $"{Folds}-fold: l2 {scales[k]:0.###}/N, val loss {m:0.0000} ± {se[^1]:0.0000}, val acc {valAcc[^1]:0.000}")));
            }
            return new L2Path(scales[..mean.Count], [.. mean], [.. se], [.. trainLoss], [.. trainAcc], [.. valAcc], OneStandardError(mean, se), iterations);
        }
        finally
        {
            foreach (var f in folds) f.Dispose();
        }
    }

    /// <summary>One fold: its training objective (own feature scaling, class weights) and its validation scorer, warm-started along the path.</summary>
    private sealed class Fold : IDisposable
    {
        private readonly HeadObjective _train;
        private readonly HeadObjective _val;
        private readonly double[] _x;

        private Fold(HeadObjective train, HeadObjective val) { _train = train; _val = val; _x = new double[train.Size]; }

        public static Fold Create(TrainingSet rows, int[] fold, int f, TrainingOptions options, SessionFactory sessions)
        {
            var train = rows.Subset(Enumerable.Range(0, rows.Count).Where(i => fold[i] != f).ToArray());
            var val = rows.Subset(Enumerable.Range(0, rows.Count).Where(i => fold[i] == f).ToArray());
            var scaling = FeatureScaling.Fit(train);
            var objective = LinearHeadSolver.Objective(options, options.Task!.Value, train, scaling, sessions);
            try
            {
                return new Fold(objective, LinearHeadSolver.ValidationObjective(options, options.Task!.Value, val, scaling, sessions));
            }
            catch
            {
                objective.Dispose();
                throw;
            }
        }

        public (double ValLoss, double ValAccuracy, double TrainLoss, double TrainAccuracy) Solve(double scale, HeadTask task, ref int iterations, CancellationToken ct)
        {
            _train.L2 = scale / _train.Rows.Count;
            iterations += Lbfgs.Minimize(_train.Evaluate, _x, LinearHeadSolver.PathSettings, ct).Iterations;
            var (valLoss, valLogits) = _val.Score(_x);
            var (trainLoss, trainLogits) = _train.Score(_x);
            return (valLoss, LinearHeadSolver.Accuracy(task, valLogits, _val.Rows), trainLoss, LinearHeadSolver.Accuracy(task, trainLogits, _train.Rows));
        }

        public void Dispose()
        {
            _train.Dispose();
            _val.Dispose();
        }
    }
}
