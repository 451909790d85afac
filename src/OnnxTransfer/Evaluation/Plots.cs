using ScottPlot;

namespace OnnxTransfer.Evaluation;

/// <summary>One curve of a ROC plot.</summary>
/// <param name="Label">Legend label (e.g. the class name); the AUC is appended.</param>
/// <param name="Points">The sweep, as from <see cref="RocAnalysis.Sweep"/>.</param>
/// <param name="Auc">Area under the curve shown in the legend.</param>
public sealed record RocSeries(string Label, IReadOnlyList<ThresholdPoint> Points, double Auc);

/// <summary>One curve of a DET plot.</summary>
internal sealed record DetSeries(string Label, IReadOnlyList<DetPoint> Points);

/// <summary>
/// Evaluation plots as PNG files (ScottPlot), each written atomically. Sizes are in pixels.
/// </summary>
internal static class Plots
{
    /// <summary>Default image width in pixels.</summary>
    public const int DefaultWidth = 800;

    /// <summary>Default image height in pixels.</summary>
    public const int DefaultHeight = 600;

    /// <summary>
    /// Learning curves per epoch (1-based): train and validation loss on the left axis, the validation metric
    /// (e.g. accuracy) on the right axis. Any array may be empty to leave that curve out.
    /// </summary>
    public static void LearningCurves(string path, IReadOnlyList<double> trainLoss, IReadOnlyList<double> valLoss,
        IReadOnlyList<double> valMetric, string metricName = "val accuracy", int width = DefaultWidth, int height = DefaultHeight)
    {
        if (trainLoss.Count == 0 && valLoss.Count == 0 && valMetric.Count == 0)
            throw new OnnxTransferException($"{path}: no learning-curve values to plot (all series are empty).");
        var plot = new Plot();
        AddEpochSeries(plot, trainLoss, "train loss", Colors.Blue, plot.Axes.Left);
        AddEpochSeries(plot, valLoss, "val loss", Colors.Orange, plot.Axes.Left);
        AddEpochSeries(plot, valMetric, metricName, Colors.Green, plot.Axes.Right);
        plot.Title("Learning curves");
        plot.XLabel("epoch");
        plot.YLabel("loss");
        if (valMetric.Count > 0) plot.Axes.Right.Label.Text = metricName;
        plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericAutomatic { IntegerTicksOnly = true };
        // Below the plot, so the legend never hides a curve.
        plot.ShowLegend(Edge.Bottom);
        Save(plot, path, width, height);
    }

    /// <summary>Confusion matrix as a heatmap (row = true class, column = predicted) with the counts written in the cells.</summary>
    public static void ConfusionMatrix(string path, IReadOnlyList<IReadOnlyList<int>> matrix, IReadOnlyList<string> classes,
        int width = DefaultWidth, int height = DefaultHeight)
    {
        var c = classes.Count;
        if (c == 0 || matrix.Count != c || matrix.Any(r => r.Count != c))
            throw new OnnxTransferException($"{path}: the confusion matrix must be {c} x {c} for {c} classes.");
        var plot = new Plot();
        // Normalise colour per true-class row so a rare class's errors stay visible next to a common one.
        var fontSize = (float)Math.Clamp(220.0 / c, 8, 28);
        for (var t = 0; t < c; t++)
        {
            var rowTotal = Math.Max(1, matrix[t].Sum());
            for (var p = 0; p < c; p++)
            {
                var fraction = (double)matrix[t][p] / rowTotal;
                // Row t is drawn at the top for t = 0, so y runs downward: y = c - 1 - t.
                var y = c - 1 - t;
                var cell = plot.Add.Rectangle(p - 0.5, p + 0.5, y - 0.5, y + 0.5);
                cell.FillColor = Blend(fraction);
                cell.LineColor = Colors.White;
                var text = plot.Add.Text(matrix[t][p].ToString(System.Globalization.CultureInfo.InvariantCulture), p, y);
                text.LabelFontSize = fontSize;
                text.LabelBold = true;
                text.LabelAlignment = Alignment.MiddleCenter;
                text.LabelFontColor = fraction > 0.5 ? Colors.White : Colors.Black;
            }
        }
        var positions = Enumerable.Range(0, c).Select(i => (double)i).ToArray();
        plot.Axes.Bottom.SetTicks(positions, classes.ToArray());
        plot.Axes.Left.SetTicks(positions, classes.Reverse().ToArray());
        plot.Axes.SetLimits(-0.5, c - 0.5, -0.5, c - 0.5);
        plot.HideGrid();
        plot.Title("Confusion matrix");
        plot.XLabel("predicted");
        plot.YLabel("true");
        Save(plot, path, width, height);
    }

    /// <summary>ROC curves (FPR vs TPR) with each curve's AUC in the legend and the chance diagonal.</summary>
    public static void Roc(string path, IReadOnlyList<RocSeries> curves, int width = DefaultWidth, int height = DefaultHeight)
    {
        if (curves.Count == 0 || curves.Any(s => s.Points.Count == 0))
            throw new OnnxTransferException($"{path}: no ROC points to plot.");
        var plot = new Plot();
        var chance = plot.Add.Scatter(new[] { 0.0, 1.0 }, new[] { 0.0, 1.0 });
        chance.LineStyle.Pattern = LinePattern.Dashed;
        chance.Color = Colors.Gray;
        chance.MarkerSize = 0;
        chance.LegendText = "chance (AUC = 0.5)";
        var palette = new ScottPlot.Palettes.Category10();
        for (var i = 0; i < curves.Count; i++)
        {
            var s = curves[i];
            var line = plot.Add.Scatter(s.Points.Select(p => p.Fpr).ToArray(), s.Points.Select(p => p.Tpr).ToArray());
            line.Color = palette.GetColor(i);
            line.LineWidth = 2;
            line.MarkerSize = 0;
            line.LegendText = $"{s.Label} (AUC = {s.Auc:0.000})";
        }
        plot.Axes.SetLimits(-0.02, 1.02, -0.02, 1.02);
        plot.Title("ROC curve");
        plot.XLabel("false positive rate");
        plot.YLabel("true positive rate");
        plot.ShowLegend(Alignment.LowerRight);
        Save(plot, path, width, height);
    }

    /// <summary>
    /// DET curves for detectors: false-reject rate against false accepts per hour on a log10 x axis. Points
    /// with zero false accepts cannot sit on a log axis; they are drawn at <paramref name="floorPerHour"/>.
    /// </summary>
    public static void Det(string path, IReadOnlyList<DetSeries> curves, double floorPerHour = 0.01,
        int width = DefaultWidth, int height = DefaultHeight)
    {
        if (curves.Count == 0 || curves.Any(s => s.Points.Count == 0))
            throw new OnnxTransferException($"{path}: no DET points to plot.");
        if (!(floorPerHour > 0))
            throw new OnnxTransferException($"{path}: the false-accept floor must be positive, got {floorPerHour}.");
        var plot = new Plot();
        var palette = new ScottPlot.Palettes.Category10();
        for (var i = 0; i < curves.Count; i++)
        {
            // By threshold, high to low: both rates then move monotonically, so the line is a clean staircase.
            var points = curves[i].Points.OrderByDescending(p => p.Threshold).ToArray();
            var line = plot.Add.Scatter(points.Select(p => Math.Log10(Math.Max(p.FalseAcceptsPerHour, floorPerHour))).ToArray(),
                points.Select(p => p.FalseRejectRate).ToArray());
            line.Color = palette.GetColor(i);
            line.LineWidth = 2;
            line.MarkerSize = 4;
            line.LegendText = curves[i].Label;
        }
        // ScottPlot has no log axis: plot log10(x) and label the ticks with 10^x.
        var ticks = new ScottPlot.TickGenerators.NumericAutomatic
        {
            MinorTickGenerator = new ScottPlot.TickGenerators.LogMinorTickGenerator(),
            IntegerTicksOnly = true,
            LabelFormatter = x => FormatPower(Math.Pow(10, x)),
        };
        plot.Axes.Bottom.TickGenerator = ticks;
        plot.Axes.SetLimitsY(-0.02, 1.02);
        plot.Title("DET curve");
        plot.XLabel("false accepts per hour (log scale)");
        plot.YLabel("false reject rate");
        plot.ShowLegend(Alignment.UpperRight);
        Save(plot, path, width, height);
    }

    private static string FormatPower(double value) =>
        value >= 1 ? value.ToString("0", System.Globalization.CultureInfo.InvariantCulture)
                   : value.ToString("0.###", System.Globalization.CultureInfo.InvariantCulture);

    private static void AddEpochSeries(Plot plot, IReadOnlyList<double> values, string label, Color color, ScottPlot.IYAxis axis)
    {
        if (values.Count == 0) return;
        var xs = Enumerable.Range(1, values.Count).Select(e => (double)e).ToArray();
        var line = plot.Add.Scatter(xs, values.ToArray());
        line.LegendText = label;
        line.Color = color;
        line.LineWidth = 2;
        line.MarkerSize = values.Count <= 50 ? 5 : 0;
        line.Axes.YAxis = axis;
    }

    private static Color Blend(double fraction)
    {
        // White (0) to a dark blue (1).
        byte Mix(byte from, byte to) => (byte)Math.Round(from + (to - from) * Math.Clamp(fraction, 0, 1));
        return new Color(Mix(255, 8), Mix(255, 48), Mix(255, 107));
    }

    private static void Save(Plot plot, string path, int width, int height)
    {
        if (width < 100 || height < 100)
            throw new OnnxTransferException($"{path}: plot size {width}x{height} is too small; use at least 100x100 pixels.");
        var bytes = plot.GetImageBytes(width, height, ImageFormat.Png);
        AtomicFile.Write(path, s => s.Write(bytes));
    }
}
