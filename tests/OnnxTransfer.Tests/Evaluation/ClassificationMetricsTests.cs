using OnnxTransfer.Evaluation;

namespace OnnxTransfer.Tests.Evaluation;

public class ClassificationMetricsTests
{
    private const double Tol = 1e-6;

    // Binary case, classes [neg, pos]; P(pos) per sample, P(neg) = 1 - P(pos):
    //   sample: 0    1    2    3    4    5
    //   true:   neg  neg  neg  neg  pos  pos
    //   P(pos): 0.2  0.3  0.7  0.5  0.6  0.2
    //   argmax: neg  neg  pos  neg  pos  neg    (sample 3 is a 0.5/0.5 tie -> first class, neg)
    // Confusion (rows true, cols predicted): neg [3, 1]; pos [1, 1]
    private static readonly int[] BinaryTruth = [0, 0, 0, 0, 1, 1];
    private static readonly float[] BinaryPos = [0.2f, 0.3f, 0.7f, 0.5f, 0.6f, 0.2f];
    private static float[] BinaryProbabilities() => BinaryPos.SelectMany(p => new[] { 1 - p, p }).ToArray();

    [Fact]
    public void Binary_counts_rates_and_f1_match_hand_computation()
    {
        var m = ClassificationMetrics.Compute(BinaryTruth, BinaryProbabilities(), ["neg", "pos"]);
        Assert.Equal(6, m.N);
        Assert.Equal([3, 1], m.ConfusionMatrix[0]);
        Assert.Equal([1, 1], m.ConfusionMatrix[1]);
        // accuracy = (3 + 1) / 6
        Assert.Equal(4.0 / 6, m.Accuracy, Tol);
        // neg: TP 3, FP 1 (sample 5), FN 1 (sample 2) -> P = R = F1 = 3/4
        Assert.Equal(0.75, m.PerClass[0].Precision, Tol);
        Assert.Equal(0.75, m.PerClass[0].Recall, Tol);
        Assert.Equal(0.75, m.PerClass[0].F1, Tol);
        Assert.Equal(4, m.PerClass[0].Support);
        // pos: TP 1, FP 1 (sample 2), FN 1 (sample 5) -> P = R = F1 = 1/2
        Assert.Equal(0.5, m.PerClass[1].Precision, Tol);
        Assert.Equal(0.5, m.PerClass[1].Recall, Tol);
        Assert.Equal(0.5, m.PerClass[1].F1, Tol);
        Assert.Equal(2, m.PerClass[1].Support);
        // balanced accuracy = mean recall = (3/4 + 1/2) / 2; macro F1 = (3/4 + 1/2) / 2
        Assert.Equal(0.625, m.BalancedAccuracy, Tol);
        Assert.Equal(0.625, m.MacroF1, Tol);
    }

    [Fact]
    public void Binary_auc_counts_ties_as_half()
    {
        // Positives score {0.6, 0.2}; negatives {0.2, 0.3, 0.7, 0.5}; 2 x 4 = 8 pairs.
        // 0.6 beats 0.2, 0.3, 0.5 (3); 0.2 ties with 0.2 (1/2) -> AUC = 3.5 / 8 = 0.4375.
        // (Ranks ascending: 0.2,0.2 -> 1.5 each; 0.6 -> 5; U = 1.5 + 5 - 2*3/2 = 3.5.)
        var m = ClassificationMetrics.Compute(BinaryTruth, BinaryProbabilities(), ["neg", "pos"]);
        Assert.Equal(0.4375, m.RocAuc, Tol);
        Assert.Equal(0.4375, m.ClassRocAuc[1], Tol);
        // Class 0's own one-vs-rest AUC uses P(neg) = 1 - P(pos): the mirror image, also 0.4375.
        Assert.Equal(0.4375, m.ClassRocAuc[0], Tol);
    }

    [Fact]
    public void Binary_log_loss_is_mean_negative_log_of_true_class_probability()
    {
        // True-class probabilities: neg samples 0.8, 0.7, 0.3, 0.5; pos samples 0.6, 0.2.
        // -(ln .8 + ln .7 + ln .3 + ln .5 + ln .6 + ln .2) / 6 = 4.597204 / 6 = 0.766201
        var m = ClassificationMetrics.Compute(BinaryTruth, BinaryProbabilities(), ["neg", "pos"]);
        Assert.Equal(0.766201, m.LogLoss, 1e-5);
    }

    [Fact]
    public void Binary_threshold_sweep_matches_hand_computed_roc_points()
    {
        // Distinct P(pos) descending with (cumulative TP, FP): start (0,0); 0.7 (0,1); 0.6 (1,1);
        // 0.5 (1,2); 0.3 (1,3); 0.2 (2,4). The 0.5 point lies on the straight line (1,1)-(1,3): dropped.
        var sweep = ClassificationMetrics.Compute(BinaryTruth, BinaryProbabilities(), ["neg", "pos"]).ThresholdSweep!;
        Assert.Equal(5, sweep.Count);
        Assert.True(sweep[0].Threshold > sweep[1].Threshold && sweep[0].Tpr == 0 && sweep[0].Fpr == 0 && sweep[0].Precision == 1);
        Assert.Equal([0.7, 0.6, 0.3, 0.2], sweep.Skip(1).Select(p => Math.Round(p.Threshold, 6)));
        // t = 0.6: TP 1 of 2, FP 1 of 4 -> TPR 0.5, FPR 0.25, precision 1/2, F1 = 2/(2+1+1) = 0.5,
        //          accuracy = (TP 1 + TN 3) / 6
        var at06 = sweep[2];
        Assert.Equal(0.5, at06.Tpr, Tol);
        Assert.Equal(0.25, at06.Fpr, Tol);
        Assert.Equal(0.5, at06.Precision, Tol);
        Assert.Equal(0.5, at06.F1, Tol);
        Assert.Equal(4.0 / 6, at06.Accuracy, Tol);
        // t = 0.2: everything positive -> TPR 1, FPR 1, precision 2/6, F1 = 4/(4+4) = 0.5, accuracy 2/6
        var last = sweep[^1];
        Assert.Equal((1.0, 1.0), (last.Tpr, last.Fpr));
        Assert.Equal(1.0 / 3, last.Precision, Tol);
        Assert.Equal(0.5, last.F1, Tol);
        Assert.Equal(2.0 / 6, last.Accuracy, Tol);
        // Trapezoid area of (0,0) (0.25,0) (0.25,0.5) (0.75,0.5) (1,1) = 0.25 + 0.1875 = 0.4375 = the rank AUC.
        Assert.Equal(0.4375, RocAnalysis.TrapezoidArea(sweep), Tol);
    }

    // Three classes [a, b, c]:
    //   sample  true  probabilities      argmax
    //   0       a     0.6  0.3  0.1      a
    //   1       b     0.2  0.5  0.3      b
    //   2       c     0.1  0.6  0.3      b  (wrong)
    //   3       c     0.2  0.2  0.6      c
    //   4       b     0.5  0.4  0.1      a  (wrong)
    private static readonly int[] MultiTruth = [0, 1, 2, 2, 1];
    private static readonly float[] MultiProbabilities =
    [
        0.6f, 0.3f, 0.1f,
        0.2f, 0.5f, 0.3f,
        0.1f, 0.6f, 0.3f,
        0.2f, 0.2f, 0.6f,
        0.5f, 0.4f, 0.1f,
    ];

    [Fact]
    public void Multiclass_metrics_match_hand_computation()
    {
        var m = ClassificationMetrics.Compute(MultiTruth, MultiProbabilities, ["a", "b", "c"]);
        // Confusion: a [1,0,0]; b [1,1,0]; c [0,1,1]
        Assert.Equal([1, 0, 0], m.ConfusionMatrix[0]);
        Assert.Equal([1, 1, 0], m.ConfusionMatrix[1]);
        Assert.Equal([0, 1, 1], m.ConfusionMatrix[2]);
        Assert.Equal(0.6, m.Accuracy, Tol); // 3 of 5
        // a: TP1 FP1 FN0 -> P 1/2, R 1, F1 2/3;  b: TP1 FP1 FN1 -> 1/2, 1/2, 1/2;  c: TP1 FP0 FN1 -> 1, 1/2, 2/3
        Assert.Equal([0.5, 0.5, 1.0], m.PerClass.Select(x => x.Precision));
        Assert.Equal([1.0, 0.5, 0.5], m.PerClass.Select(x => x.Recall));
        Assert.Equal(2.0 / 3, m.PerClass[0].F1, Tol);
        Assert.Equal(0.5, m.PerClass[1].F1, Tol);
        Assert.Equal(2.0 / 3, m.PerClass[2].F1, Tol);
        Assert.Equal([1, 2, 2], m.PerClass.Select(x => x.Support));
        Assert.Equal((1 + 0.5 + 0.5) / 3, m.BalancedAccuracy, Tol);
        Assert.Equal((2.0 / 3 + 0.5 + 2.0 / 3) / 3, m.MacroF1, Tol); // 0.6111
        // log-loss: true-class probabilities 0.6, 0.5, 0.3, 0.6, 0.4
        Assert.Equal(-(Math.Log(0.6) + Math.Log(0.5) + Math.Log(0.3) + Math.Log(0.6) + Math.Log(0.4)) / 5, m.LogLoss, 1e-6);
        Assert.Null(m.ThresholdSweep);
    }

    [Fact]
    public void Multiclass_auc_is_macro_one_vs_rest()
    {
        var m = ClassificationMetrics.Compute(MultiTruth, MultiProbabilities, ["a", "b", "c"]);
        // a: positive {0.6} vs {0.2, 0.1, 0.2, 0.5} -> 4/4 = 1
        // b: positives {0.5, 0.4} vs {0.3, 0.6, 0.2} -> each beats 0.3 and 0.2 -> 4/6
        // c: positives {0.3, 0.6} vs {0.1, 0.3, 0.1} -> 0.3: 1 + 1/2 + 1; 0.6: 3 -> 5.5/6
        Assert.Equal(1.0, m.ClassRocAuc[0], Tol);
        Assert.Equal(4.0 / 6, m.ClassRocAuc[1], Tol);
        Assert.Equal(5.5 / 6, m.ClassRocAuc[2], Tol);
        Assert.Equal((1 + 4.0 / 6 + 5.5 / 6) / 3, m.RocAuc, Tol); // 0.8611
    }

    [Fact]
    public void Subset_evaluates_only_the_chosen_rows()
    {
        // Rows 0, 1, 3 are the three correctly classified samples, one per class.
        var m = ClassificationMetrics.Compute(MultiTruth, MultiProbabilities, ["a", "b", "c"], rows: [0, 1, 3]);
        Assert.Equal(3, m.N);
        Assert.Equal(1.0, m.Accuracy);
        Assert.Equal([1, 1, 1], m.PerClass.Select(x => x.Support));
        Assert.Equal([1, 0, 0], m.ConfusionMatrix[0]);
        Assert.Equal([0, 0, 1], m.ConfusionMatrix[2]);
    }

    [Fact]
    public void Class_absent_from_truth_and_predictions_is_left_out_of_macro_averages()
    {
        // Two samples, both right; class "c" never occurs: macro F1 = mean over {a, b} = 1 (not 2/3),
        // its AUC is undefined (no positives) and left out of the mean.
        var m = ClassificationMetrics.Compute([0, 1], [0.9f, 0.1f, 0f, 0.2f, 0.8f, 0f], ["a", "b", "c"]);
        Assert.Equal(1.0, m.MacroF1, Tol);
        Assert.Equal(1.0, m.BalancedAccuracy, Tol);
        Assert.True(double.IsNaN(m.ClassRocAuc[2]));
        Assert.Equal(1.0, m.RocAuc, Tol);
        Assert.Equal(0, m.PerClass[2].Support);
    }

    [Fact]
    public void Labels_by_name_give_the_same_metrics_and_unknown_names_fail()
    {
        string[] names = ["a", "b", "c"];
        var byName = ClassificationMetrics.Compute(MultiTruth.Select(t => names[t]).ToArray(), MultiProbabilities, names, rows: [0, 2, 4]);
        var byIndex = ClassificationMetrics.Compute(MultiTruth, MultiProbabilities, names, rows: [0, 2, 4]);
        Assert.Equal(byIndex.Accuracy, byName.Accuracy);
        Assert.Equal(byIndex.PerClass, byName.PerClass);
        Assert.Equal(byIndex.RocAuc, byName.RocAuc);
        var e = Assert.Throws<OnnxTransferException>(() =>
            ClassificationMetrics.Compute(new[] { "a", "zebra" }, [0.5f, 0.5f, 0f, 0.5f, 0.5f, 0f], names));
        Assert.Contains("'zebra'", e.Message);
    }

    [Fact]
    public void Log_loss_clips_a_zero_probability()
    {
        // True class gets probability 0: clipped to 1e-15 -> -ln(1e-15) = 34.5388; the other sample is certain and right.
        var m = ClassificationMetrics.Compute([0, 1], [0f, 1f, 0f, 1f], ["a", "b"]);
        Assert.Equal((-Math.Log(1e-15) + -Math.Log(1 - 1e-15)) / 2, m.LogLoss, 1e-9);
        Assert.Equal(34.5388 / 2, m.LogLoss, 1e-3);
    }

    [Fact]
    public void Single_class_truth_gives_undefined_auc()
    {
        var m = ClassificationMetrics.Compute([1, 1], [0.3f, 0.7f, 0.6f, 0.4f], ["a", "b"]);
        Assert.True(double.IsNaN(m.RocAuc));
        Assert.Equal(0.5, m.Accuracy, Tol);
    }

    [Theory]
    [InlineData(new[] { 0, 1 }, new[] { 2.5f, -1f, 0.5f, 0.5f }, "not logits")]
    [InlineData(new[] { 0, 1 }, new[] { 0.3f, 0.3f, 0.5f, 0.5f }, "sum to")]
    [InlineData(new[] { 0, 2 }, new[] { 0.5f, 0.5f, 0.5f, 0.5f }, "outside 0..1")]
    [InlineData(new[] { 0, 1 }, new[] { 0.5f, 0.5f, 0.5f }, "expected 2 samples")]
    public void Bad_input_is_a_one_line_error(int[] truth, float[] probabilities, string expected)
    {
        var e = Assert.Throws<OnnxTransferException>(() => ClassificationMetrics.Compute(truth, probabilities, ["a", "b"]));
        Assert.Contains(expected, e.Message);
        Assert.DoesNotContain('\n', e.Message);
    }

    [Fact]
    public void Duplicate_class_names_are_rejected()
    {
        var e = Assert.Throws<OnnxTransferException>(() => ClassificationMetrics.Compute([0, 1], [0.5f, 0.5f, 0.5f, 0.5f], ["a", "a"]));
        Assert.Contains("unique", e.Message);
    }

    [Fact]
    public void Fast_auc_equals_pairwise_count_on_random_data_with_ties()
    {
        for (var seed = 0; seed < 20; seed++)
        {
            var random = new Random(seed);
            var n = random.Next(2, 400);
            // Scores rounded to 1 decimal so ties are common; labels loosely correlated with the score.
            var scores = Enumerable.Range(0, n).Select(_ => Math.Round(random.NextDouble(), 1)).ToArray();
            var positive = scores.Select(s => random.NextDouble() < 0.2 + 0.6 * s).ToArray();
            if (positive.All(p => p) || positive.All(p => !p)) continue;

            double wins = 0;
            long pairs = 0;
            for (var i = 0; i < n; i++)
                if (positive[i])
                    for (var j = 0; j < n; j++)
                        if (!positive[j])
                        {
                            pairs++;
                            wins += scores[i] > scores[j] ? 1 : scores[i] == scores[j] ? 0.5 : 0;
                        }
            var pairwise = wins / pairs;

            Assert.Equal(pairwise, RocAnalysis.Auc(scores, positive), 1e-12);
            Assert.Equal(pairwise, RocAnalysis.TrapezoidArea(RocAnalysis.Sweep(scores, positive, dropCollinear: false)), 1e-12);
            Assert.Equal(pairwise, RocAnalysis.TrapezoidArea(RocAnalysis.Sweep(scores, positive)), 1e-12);
        }
    }

    [Fact]
    public void Sweep_points_match_direct_counts_and_keep_the_best_f1()
    {
        var random = new Random(7);
        var scores = Enumerable.Range(0, 300).Select(_ => Math.Round(random.NextDouble(), 2)).ToArray();
        var positive = scores.Select(s => random.NextDouble() < s).ToArray();
        var full = RocAnalysis.Sweep(scores, positive, dropCollinear: false);
        var reduced = RocAnalysis.Sweep(scores, positive);
        Assert.True(reduced.Count < full.Count);
        int p = positive.Count(x => x), n = positive.Length - p;
        foreach (var point in full)
        {
            int tp = 0, fp = 0;
            for (var i = 0; i < scores.Length; i++)
                if (scores[i] >= point.Threshold) { if (positive[i]) tp++; else fp++; }
            Assert.Equal((double)tp / p, point.Tpr, 1e-12);
            Assert.Equal((double)fp / n, point.Fpr, 1e-12);
            Assert.Equal(tp + fp == 0 ? 1 : (double)tp / (tp + fp), point.Precision, 1e-12);
            Assert.Equal((double)(tp + n - fp) / scores.Length, point.Accuracy, 1e-12);
        }
        Assert.Equal(full.Max(x => x.F1), reduced.Max(x => x.F1), 1e-12);
        Assert.Equal(full.Max(x => x.Accuracy), reduced.Max(x => x.Accuracy), 1e-12);
    }

    [Fact]
    public void Multi_label_metrics_match_hand_computation()
    {
        // labels [x, y], threshold 0.5:
        //   truth     probs          predicted
        //   1 0       0.9  0.2       1 0   exact
        //   1 1       0.4  0.7       0 1   x missed
        //   0 1       0.45 0.6       0 1   exact
        bool[] truth = [true, false, true, true, false, true];
        float[] probs = [0.9f, 0.2f, 0.4f, 0.7f, 0.45f, 0.6f];
        var m = MultiLabelMetrics.Compute(truth, probs, ["x", "y"]);
        Assert.Equal(3, m.N);
        Assert.Equal(2.0 / 3, m.SubsetAccuracy, Tol);
        Assert.Equal(1.0 / 6, m.HammingLoss, Tol);
        // x: TP1 FP0 FN1 -> P 1, R 1/2, F1 2/3; y: TP2 FP0 FN0 -> 1, 1, 1
        Assert.Equal(2.0 / 3, m.PerLabel[0].F1, Tol);
        Assert.Equal(1.0, m.PerLabel[1].F1, Tol);
        Assert.Equal((2.0 / 3 + 1) / 2, m.MacroF1, Tol);
        // micro: TP 3, FP 0, FN 1 -> 6 / 7
        Assert.Equal(6.0 / 7, m.MicroF1, Tol);
        // AUC x: positives {0.9, 0.4} vs negative {0.45} -> 1/2; y: {0.7, 0.6} vs {0.2} -> 1; mean 0.75
        Assert.Equal(0.5, m.LabelRocAuc[0], Tol);
        Assert.Equal(0.75, m.MacroRocAuc, Tol);
    }

    [Fact]
    public void Det_points_match_hand_computation()
    {
        // positives 0.9 0.8 0.3; negatives 0.1 0.6 0.95 0.2 over 2 hours.
        // t = 0.25: no positive below -> FRR 0; negatives >= 0.25: 0.6, 0.95 -> 2 / 2 h = 1 per hour
        // t = 0.8:  0.3 below -> FRR 1/3 (0.8 itself is accepted); negatives >= 0.8: 0.95 -> 0.5 per hour
        var det = DetCurve.FromScores([0.9, 0.8, 0.3], [0.1, 0.6, 0.95, 0.2], 2, [0.8, 0.25]);
        Assert.Equal(0.25, det[0].Threshold);
        Assert.Equal(0.0, det[0].FalseRejectRate);
        Assert.Equal(1.0, det[0].FalseAcceptsPerHour);
        Assert.Equal(1.0 / 3, det[1].FalseRejectRate, Tol);
        Assert.Equal(0.5, det[1].FalseAcceptsPerHour);
    }
}
