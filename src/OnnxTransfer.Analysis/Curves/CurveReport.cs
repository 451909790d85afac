using System.Globalization;
using System.Text;
using System.Text.Json;
using ScottPlot;

namespace OnnxTransfer.Curves;

/// <summary>
/// Writes a <see cref="CurveResult"/>: <c>curve.md</c> (mean ± sd over seeds per method and size, accuracy and balanced
/// accuracy, with the number of seeds), <c>curve.csv</c> (one line per run), <c>curve.json</c> (everything, read back to
/// resume) and <c>curve.png</c> / <c>curve-balanced.png</c> (the curves with ±1 sd bars, examples per class on a log axis).
/// Every file is written atomically.
/// </summary>
public static class CurveReport
{
    /// <summary>JSON file name.</summary>
    public const string JsonFileName = "curve.json";
    /// <summary>Markdown table file name.</summary>
    public const string MarkdownFileName = "curve.md";
    /// <summary>CSV file name (one row per run).</summary>
    public const string CsvFileName = "curve.csv";
    /// <summary>Accuracy plot file name.</summary>
    public const string PlotFileName = "curve.png";
    /// <summary>Balanced-accuracy plot file name.</summary>
    public const string BalancedPlotFileName = "curve-balanced.png";

    /// <summary>The file curve.json holds: the result and its summary points.</summary>
    /// <param name="Curve">The result.</param>
    /// <param name="Points">Mean and sd per method and size.</param>
    public sealed record CurveFile(CurveResult Curve, IReadOnlyList<CurvePoint> Points);

    /// <summary>Writes every file into <paramref name="outDir"/> and returns the Markdown text.</summary>
    public static string Write(CurveResult result, string outDir)
    {
        Directory.CreateDirectory(outDir);
        WriteJson(result, Path.Combine(outDir, JsonFileName));
        AtomicFile.WriteText(Path.Combine(outDir, CsvFileName), ToCsv(result));
        var markdown = ToMarkdown(result);
        AtomicFile.WriteText(Path.Combine(outDir, MarkdownFileName), markdown);
        Plot(result, Path.Combine(outDir, PlotFileName), balanced: false);
        Plot(result, Path.Combine(outDir, BalancedPlotFileName), balanced: true);
        return markdown;
    }

    /// <summary>Writes curve.json only (after each run, so an interrupted curve resumes).</summary>
    public static void WriteJson(CurveResult result, string path) =>
        AtomicFile.WriteText(path, JsonText.Write(new CurveFile(result, result.Points()), CurvesJson.Default.CurveFile));

    /// <summary>Reads curve.json back.</summary>
    /// <exception cref="OnnxTransferException">The file is not a curve.json.</exception>
    public static CurveResult ReadJson(string path)
    {
        try
        {
            return JsonText.Read(File.ReadAllText(path), CurvesJson.Default.CurveFile)?.Curve
                ?? throw new OnnxTransferException($"{path}: empty; delete it to start the curve afresh.");
        }
        catch (JsonException e)
        {
            throw new OnnxTransferException($"{path}: not a curve.json ({e.Message}); delete it to start the curve afresh.");
        }
    }

    /// <summary>A display name per method.</summary>
    public static string MethodName(CurveMethod method, IReadOnlyDictionary<string, string>? settings = null) => method switch
    {
        CurveMethod.Frozen => "frozen + linear",
        CurveMethod.Unfrozen => $"last {settings?.GetValueOrDefault("unfreeze") ?? "N"} layers fine-tuned",
        CurveMethod.Gradual => $"last {settings?.GetValueOrDefault("unfreeze") ?? "N"} layers, gradual",
        _ => $"raw pixels {settings?.GetValueOrDefault("pixel_size") ?? ""}² + linear",
    };

    /// <summary>One line per run: method, per_class (all = empty), seed, train_examples, epochs, accuracy, balanced_accuracy, seconds.</summary>
    public static string ToCsv(CurveResult result)
    {
        var c = CultureInfo.InvariantCulture;
        var sb = new StringBuilder("method,per_class,seed,train_examples,epochs,accuracy,balanced_accuracy,seconds\n");
        foreach (var r in result.Runs)
            sb.Append(c, $"{r.Method.ToString().ToLowerInvariant()},{CurveOptions.SizeText(r.PerClass)},{r.Seed},{r.TrainExamples},{r.Epochs},{r.Accuracy:R},{r.BalancedAccuracy:R},{r.Seconds:F3}\n");
        return sb.ToString();
    }

    /// <summary>The Markdown report: what was run, then accuracy and balanced accuracy tables (mean ± sd in %, number of seeds).</summary>
    public static string ToMarkdown(CurveResult result)
    {
        var c = CultureInfo.InvariantCulture;
        var points = result.Points();
        var methods = points.Select(p => p.Method).Distinct().Order().ToArray();
        var sizes = points.Select(p => p.PerClass).Distinct().OrderBy(s => s ?? int.MaxValue).ToArray();
        string Counts(IReadOnlyDictionary<string, int> counts) => string.Join(", ", counts.Select(kv => $"{kv.Key} {kv.Value}"));
        var sb = new StringBuilder();
        sb.Append(c, $"# Transfer learning curve: {Path.GetFileName(result.Dataset.TrimEnd('/', '\\'))}\n\n");
        sb.Append(c, $"- backbone: `{result.Backbone}`; dataset: `{result.Dataset}`\n");
        sb.Append(c, $"- evaluation: {result.EvalName}, {result.EvalCount} images ({Counts(result.EvalCounts)}) — the same images score every run\n");
        sb.Append(c, $"- training pool: {result.PoolCounts.Values.Sum()} images ({Counts(result.PoolCounts)}); a size takes the first k of each class of a seeded permutation (nested), \"all\" takes the whole pool\n");
        sb.Append(c, $"- methods: {string.Join("; ", methods.Select(m => MethodName(m, result.Settings)))}; no validation split, no early stopping; linear heads are solved to their optimum (full-batch L-BFGS, L2 = 1/N) unless another optimizer is set, mini-batch runs take at least {result.Settings.GetValueOrDefault("min_steps")} optimizer steps (fine-tuning at most {result.Settings.GetValueOrDefault("max_fine_tune_steps")})\n\n");
        void Table(string title, Func<CurvePoint, (double Mean, double Sd)> value)
        {
            sb.Append(c, $"{title} on the evaluation set, mean ± sd over seeds (n = seeds), %:\n\n");
            sb.Append("| examples per class | ").AppendJoin(" | ", methods.Select(m => MethodName(m, result.Settings))).Append(" |\n");
            sb.Append("|---|").AppendJoin("", methods.Select(_ => "---|")).Append('\n');
            foreach (var size in sizes)
            {
                var label = size is null
                    ? string.Create(c, $"all ({points.First(p => p.PerClass is null).TrainExamples:0} images)")
                    : CurveOptions.SizeText(size);
                sb.Append(c, $"| {label} |");
                foreach (var m in methods)
                {
                    var p = points.FirstOrDefault(p => p.Method == m && p.PerClass == size);
                    if (p is null) { sb.Append(" – |"); continue; }
                    var (mean, sd) = value(p);
                    sb.Append(double.IsNaN(sd) ? string.Create(c, $" {100 * mean:F1} (n={p.Seeds}) |") : string.Create(c, $" {100 * mean:F1} ± {100 * sd:F1} (n={p.Seeds}) |"));
                }
                sb.Append('\n');
            }
            sb.Append('\n');
        }
        Table("Accuracy", p => (p.Accuracy, p.AccuracySd));
        Table("Balanced accuracy (mean per-class recall)", p => (p.BalancedAccuracy, p.BalancedAccuracySd));
        sb.Append("Mean training time per run, seconds (caches excluded):\n\n");
        sb.Append("| examples per class | ").AppendJoin(" | ", methods.Select(m => MethodName(m, result.Settings))).Append(" |\n");
        sb.Append("|---|").AppendJoin("", methods.Select(_ => "---|")).Append('\n');
        foreach (var size in sizes)
        {
            sb.Append($"| {CurveOptions.SizeText(size)} |");
            foreach (var m in methods)
                sb.Append(points.FirstOrDefault(p => p.Method == m && p.PerClass == size) is { } p ? string.Create(c, $" {p.Seconds:F1} |") : " – |");
            sb.Append('\n');
        }
        return sb.ToString();
    }

    /// <summary>The curves: accuracy (or balanced accuracy) against examples per class (log axis; "all" at the pool's mean per class), ±1 sd bars.</summary>
    public static void Plot(CurveResult result, string path, bool balanced, int width = 900, int height = 640)
    {
        var points = result.Points();
        if (points.Count == 0) throw new OnnxTransferException($"{path}: no runs to plot.");
        var allX = Math.Max(1.0, result.PoolCounts.Values.Sum() / (double)Math.Max(1, result.PoolCounts.Count));
        double X(int? size) => Math.Log10(size ?? allX);
        var plot = new Plot();
        var palette = new ScottPlot.Palettes.Category10();
        var methods = points.Select(p => p.Method).Distinct().Order().ToArray();
        for (var i = 0; i < methods.Length; i++)
        {
            var line = points.Where(p => p.Method == methods[i]).OrderBy(p => X(p.PerClass)).ToArray();
            // Methods sit side by side around each size so their error bars do not hide each other.
            var dodge = (i - (methods.Length - 1) / 2.0) * 0.012;
            var xs = line.Select(p => X(p.PerClass) + dodge).ToArray();
            var ys = line.Select(p => 100 * (balanced ? p.BalancedAccuracy : p.Accuracy)).ToArray();
            var sds = line.Select(p => 100 * (balanced ? p.BalancedAccuracySd : p.AccuracySd)).Select(s => double.IsNaN(s) ? 0 : s).ToArray();
            var color = palette.GetColor((int)methods[i]); // one colour per method, whichever are plotted
            var scatter = plot.Add.Scatter(xs, ys);
            scatter.Color = color;
            scatter.LineWidth = 2;
            scatter.MarkerSize = 7;
            scatter.LegendText = MethodName(methods[i], result.Settings);
            var bars = plot.Add.ErrorBar(xs, ys, sds);
            bars.Color = color;
        }
        var sizes = points.Select(p => p.PerClass).Distinct().OrderBy(X).ToArray();
        var last = sizes.Last();
        plot.Axes.Bottom.SetTicks(sizes.Select(X).ToArray(),
            sizes.Select(CurveOptions.SizeText).ToArray());
        var lo = X(sizes[0]);
        var hi = X(last);
        var pad = Math.Max(0.05, (hi - lo) * 0.05);
        plot.Axes.SetLimitsX(lo - pad, hi + pad);
        // What a model that ignores the image scores: always the majority class (accuracy), or 1/C (balanced accuracy).
        var majority = result.EvalCount == 0 ? 0 : 100.0 * result.EvalCounts.Values.Max() / result.EvalCount;
        var baseline = balanced ? 100.0 / Math.Max(2, result.Classes.Length) : majority;
        var reference = plot.Add.HorizontalLine(baseline);
        reference.LinePattern = LinePattern.Dashed;
        reference.Color = Colors.Gray;
        reference.LegendText = balanced ? "chance" : string.Create(CultureInfo.InvariantCulture, $"majority class ({baseline:F1}%)");
        var metric = balanced ? "balanced accuracy" : "accuracy";
        plot.Title($"{Path.GetFileName(result.Dataset.TrimEnd('/', '\\'))}: {metric} on {result.EvalCount} held-out images ({result.Backbone})");
        plot.XLabel(sizes.Contains(null)
            ? string.Create(CultureInfo.InvariantCulture, $"training examples per class (log scale; all = the whole pool, {allX:0} per class on average)")
            : "training examples per class (log scale)");
        plot.YLabel($"{metric} (%), mean ± sd over seeds");
        // Below the plot, so the legend never hides a point.
        plot.ShowLegend(Edge.Bottom);
        var bytes = plot.GetImageBytes(width, height, ImageFormat.Png);
        AtomicFile.Write(path, s => s.Write(bytes));
    }
}
