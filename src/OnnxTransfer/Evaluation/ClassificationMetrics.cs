namespace OnnxTransfer.Evaluation;

/// <summary>
/// Single-label classification metrics from true class indices and predicted class probabilities.
/// The predicted class is the arg-max of a row (the first on ties). Conventions follow scikit-learn's
/// defaults: a zero division gives 0; balanced accuracy averages recall over classes that have true
/// samples; macro-F1 averages over classes that occur in the truth or the predictions.
/// </summary>
public sealed class ClassificationMetrics
{
    /// <summary>The lower clip applied to a true-class probability before its log (log(0) would be infinite).</summary>
    public const double DefaultLogLossEpsilon = 1e-15;

    private ClassificationMetrics(string[] classes, int n) { Classes = classes; N = n; }

    /// <summary>Class names; index i is class i. With two classes, class 1 is the positive one.</summary>
    public IReadOnlyList<string> Classes { get; }

    /// <summary>Number of samples evaluated.</summary>
    public int N { get; }

    /// <summary>Fraction of samples whose arg-max class is the true class.</summary>
    public double Accuracy { get; private init; }

    /// <summary>Mean per-class recall over the classes that have true samples.</summary>
    public double BalancedAccuracy { get; private init; }

    /// <summary>Unweighted mean of per-class F1 over the classes present in the truth or the predictions.</summary>
    public double MacroF1 { get; private init; }

    /// <summary>
    /// ROC-AUC: binary — of class 1's probability; more classes — the unweighted mean of the one-vs-rest
    /// AUCs of the classes that have both positives and negatives. NaN when no class qualifies.
    /// </summary>
    public double RocAuc { get; private init; }

    /// <summary>One-vs-rest ROC-AUC of each class (NaN for a class with no positives or no negatives).</summary>
    public IReadOnlyList<double> ClassRocAuc { get; private init; } = [];

    /// <summary>Mean negative log of the true-class probability, clipped to [eps, 1 - eps].</summary>
    public double LogLoss { get; private init; }

    /// <summary>Counts: row = true class, column = predicted class, in <see cref="Classes"/> order.</summary>
    public IReadOnlyList<IReadOnlyList<int>> ConfusionMatrix { get; private init; } = [];

    /// <summary>Precision, recall, F1 and support of each class, in <see cref="Classes"/> order.</summary>
    public IReadOnlyList<ClassMetrics> PerClass { get; private init; } = [];

    /// <summary>Binary tasks only (else null): the ROC points with thresholds on class 1's probability.</summary>
    public IReadOnlyList<ThresholdPoint>? ThresholdSweep { get; private init; }

    /// <summary>
    /// One-vs-rest ROC points of each class, for plotting; computed for up to <see cref="MaxClassesForCurves"/>
    /// classes (a plot with more curves is unreadable), else null.
    /// </summary>
    public IReadOnlyList<IReadOnlyList<ThresholdPoint>>? ClassSweeps { get; private init; }

    /// <summary>The largest class count for which <see cref="ClassSweeps"/> is computed.</summary>
    public const int MaxClassesForCurves = 10;

    /// <summary>
    /// Computes every metric. <paramref name="probabilities"/> is row-major [N, C] (all samples, even when a
    /// subset is chosen), each row a probability distribution (softmax output, not logits).
    /// </summary>
    /// <param name="trueClasses">True class index of each sample, in [0, C).</param>
    /// <param name="probabilities">Predicted probabilities, row-major [N, C].</param>
    /// <param name="classes">Class names (C of them, C ≥ 2).</param>
    /// <param name="rows">Optional subset of sample indices to evaluate (e.g. the validation rows).</param>
    /// <param name="logLossEpsilon">Clip for log-loss.</param>
    public static ClassificationMetrics Compute(IReadOnlyList<int> trueClasses, float[] probabilities, IReadOnlyList<string> classes,
        IReadOnlyList<int>? rows = null, double logLossEpsilon = DefaultLogLossEpsilon)
    {
        var c = classes.Count;
        if (c < 2)
            throw new OnnxTransferException($"classification metrics need at least 2 classes, got {c}; check the class list.");
        if (probabilities.Length != (long)trueClasses.Count * c)
            throw new OnnxTransferException($"probabilities hold {probabilities.Length} values, expected {trueClasses.Count} samples x {c} classes = {(long)trueClasses.Count * c}.");
        if (classes.Distinct(StringComparer.Ordinal).Count() != c || classes.Any(string.IsNullOrEmpty))
            throw new OnnxTransferException($"class names must be unique and non-empty: [{string.Join(", ", classes)}].");
        var sample = rows ?? Enumerable.Range(0, trueClasses.Count).ToArray();
        if (sample.Count == 0)
            throw new OnnxTransferException("no samples to evaluate (empty subset); check the split name or the dataset.");

        var n = sample.Count;
        var confusion = new int[c][];
        for (var i = 0; i < c; i++) confusion[i] = new int[c];
        var truth = new int[n];
        double logLoss = 0;
        for (var j = 0; j < n; j++)
        {
            var row = sample[j];
            if ((uint)row >= (uint)trueClasses.Count)
                throw new OnnxTransferException($"subset row {row} is outside the {trueClasses.Count} samples.");
            var y = trueClasses[row];
            if ((uint)y >= (uint)c)
                throw new OnnxTransferException($"sample {row} has true class {y}, outside 0..{c - 1} ({c} classes).");
            var p = probabilities.AsSpan(row * c, c);
            CheckDistribution(p, row);
            var predicted = 0;
            for (var k = 1; k < c; k++)
                if (p[k] > p[predicted]) predicted = k;
            confusion[y][predicted]++;
            truth[j] = y;
            logLoss -= Math.Log(Math.Clamp(p[y], logLossEpsilon, 1 - logLossEpsilon));
        }

        var perClass = new ClassMetrics[c];
        long correct = 0;
        for (var k = 0; k < c; k++)
        {
            long tp = confusion[k][k], fn = 0, fp = 0;
            for (var other = 0; other < c; other++)
                if (other != k) { fn += confusion[k][other]; fp += confusion[other][k]; }
            perClass[k] = ClassMetrics.FromCounts(classes[k], tp, fp, fn);
            correct += tp;
        }
        var present = Enumerable.Range(0, c).Where(k => perClass[k].Support > 0 || confusion.Any(r => r[k] > 0)).ToArray();

        // One class's scores at a time: memory stays O(N) even for 1000-class models.
        var classScores = new double[n];
        var isClass = new bool[n];
        void Select(int k)
        {
            for (var j = 0; j < n; j++) { classScores[j] = probabilities[sample[j] * c + k]; isClass[j] = truth[j] == k; }
        }
        var classAuc = new double[c];
        var classSweeps = c <= MaxClassesForCurves ? new IReadOnlyList<ThresholdPoint>[c] : null;
        for (var k = 0; k < c; k++)
        {
            Select(k);
            classAuc[k] = RocAnalysis.Auc(classScores, isClass);
            if (classSweeps is not null) classSweeps[k] = RocAnalysis.Sweep(classScores, isClass);
        }
        var definedAuc = classAuc.Where(a => !double.IsNaN(a)).ToArray();

        return new ClassificationMetrics(classes.ToArray(), n)
        {
            Accuracy = (double)correct / n,
            BalancedAccuracy = perClass.Where(m => m.Support > 0).Average(m => m.Recall),
            MacroF1 = present.Average(k => perClass[k].F1),
            RocAuc = c == 2 ? classAuc[1] : definedAuc.Length == 0 ? double.NaN : definedAuc.Average(),
            ClassRocAuc = classAuc,
            LogLoss = logLoss / n,
            ConfusionMatrix = confusion,
            PerClass = perClass,
            ThresholdSweep = c == 2 ? classSweeps![1] : null,
            ClassSweeps = classSweeps,
        };
    }

    /// <summary>
    /// As the index-based overload,
    /// with true labels given by name (e.g. <see cref="Features.FeatureTable.Labels"/>); a label that is not
    /// one of <paramref name="classes"/> is an error.
    /// </summary>
    public static ClassificationMetrics Compute(IReadOnlyList<string> trueLabels, float[] probabilities, IReadOnlyList<string> classes,
        IReadOnlyList<int>? rows = null, double logLossEpsilon = DefaultLogLossEpsilon)
    {
        var index = new Dictionary<string, int>(StringComparer.Ordinal);
        for (var k = 0; k < classes.Count; k++) index.TryAdd(classes[k], k);
        var sample = rows ?? Enumerable.Range(0, trueLabels.Count).ToArray();
        var truth = new int[trueLabels.Count];
        foreach (var row in sample)
        {
            if ((uint)row >= (uint)trueLabels.Count)
                throw new OnnxTransferException($"subset row {row} is outside the {trueLabels.Count} samples.");
            truth[row] = index.TryGetValue(trueLabels[row], out var k) ? k
                : throw new OnnxTransferException($"sample {row} has label '{trueLabels[row]}', which is not one of the model's classes [{string.Join(", ", classes)}].");
        }
        return Compute(truth, probabilities, classes, sample, logLossEpsilon);
    }

    /// <summary>
    /// The ROC points of class <paramref name="classIndex"/> against the rest (for plotting a one-vs-rest
    /// curve per class), computed from the same inputs as Compute.
    /// </summary>
    public static IReadOnlyList<ThresholdPoint> OneVsRestSweep(IReadOnlyList<int> trueClasses, float[] probabilities, int classCount, int classIndex,
        IReadOnlyList<int>? rows = null)
    {
        var sample = rows ?? Enumerable.Range(0, trueClasses.Count).ToArray();
        return RocAnalysis.Sweep(sample.Select(r => (double)probabilities[r * classCount + classIndex]).ToArray(),
            sample.Select(r => trueClasses[r] == classIndex).ToArray());
    }

    private static void CheckDistribution(ReadOnlySpan<float> p, int row)
    {
        double sum = 0;
        foreach (var v in p)
        {
            if (!(v >= 0 && v <= 1)) // also catches NaN
                throw new OnnxTransferException($"sample {row} has probability {v}, outside [0, 1]; pass softmax probabilities, not logits.");
            sum += v;
        }
        if (Math.Abs(sum - 1) > 1e-3)
            throw new OnnxTransferException($"sample {row}'s probabilities sum to {sum:G6}, not 1; pass softmax probabilities (for independent sigmoid outputs use MultiLabelMetrics).");
    }
}
