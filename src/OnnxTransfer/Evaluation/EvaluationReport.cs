using System.Globalization;
using System.Text;
using System.Text.Json;

namespace OnnxTransfer.Evaluation;

/// <summary>
/// The evaluation result as written to <c>report.json</c> (machine-readable, snake_case keys) and
/// <c>report.md</c> (a short human summary), plus the reader for report.json. Undefined numbers (an AUC
/// with one class present) are NaN in memory and null in JSON.
/// </summary>
/// <remarks>
/// report.json top level: <c>accuracy</c>, <c>balanced_accuracy</c>, <c>macro_f1</c>, <c>roc_auc</c>,
/// <c>log_loss</c>, <c>confusion_matrix</c> (<c>classes</c>, <c>matrix</c>: rows = true, columns = predicted),
/// <c>per_class</c> (class name -> precision, recall, f1, support), <c>n</c>, <c>classes</c>,
/// <c>threshold_sweep</c> (binary only: threshold, tpr, fpr, precision, f1, accuracy), <c>context</c>
/// (free-form strings: model, split, dataset, ...), <c>plots</c> (name -> PNG path relative to the report).
/// </remarks>
public sealed record EvaluationReport
{
    /// <summary>The JSON file name.</summary>
    public const string JsonFileName = "report.json";

    /// <summary>The Markdown file name.</summary>
    public const string MarkdownFileName = "report.md";

    /// <summary>Class names; index order of the confusion matrix and per-class list.</summary>
    public required IReadOnlyList<string> Classes { get; init; }

    /// <summary>Number of samples evaluated.</summary>
    public required int N { get; init; }

    /// <summary>See <see cref="ClassificationMetrics.Accuracy"/>.</summary>
    public required double Accuracy { get; init; }

    /// <summary>See <see cref="ClassificationMetrics.BalancedAccuracy"/>.</summary>
    public required double BalancedAccuracy { get; init; }

    /// <summary>See <see cref="ClassificationMetrics.MacroF1"/>.</summary>
    public required double MacroF1 { get; init; }

    /// <summary>See <see cref="ClassificationMetrics.RocAuc"/>; NaN when undefined.</summary>
    public required double RocAuc { get; init; }

    /// <summary>See <see cref="ClassificationMetrics.LogLoss"/>.</summary>
    public required double LogLoss { get; init; }

    /// <summary>Row = true class, column = predicted, in <see cref="Classes"/> order.</summary>
    public required IReadOnlyList<IReadOnlyList<int>> ConfusionMatrix { get; init; }

    /// <summary>Per-class precision, recall, F1, support in <see cref="Classes"/> order.</summary>
    public required IReadOnlyList<ClassMetrics> PerClass { get; init; }

    /// <summary>Binary tasks: the ROC points with thresholds; otherwise null.</summary>
    public IReadOnlyList<ThresholdPoint>? ThresholdSweep { get; init; }

    /// <summary>Free-form context such as model, split, dataset.</summary>
    public IReadOnlyDictionary<string, string> Context { get; init; } = new Dictionary<string, string>();

    /// <summary>
    /// In memory only (not in report.json): the curves <see cref="Write"/> draws in roc.png — class 1 for a
    /// binary task, one-vs-rest per class otherwise (classes with an undefined AUC left out).
    /// </summary>
    public IReadOnlyList<RocSeries>? RocCurves { get; init; }

    /// <summary>Plot name -> PNG path relative to the report's folder.</summary>
    public IReadOnlyDictionary<string, string> Plots { get; init; } = new Dictionary<string, string>();

    /// <summary>
    /// In memory only: the scored items behind the metrics (written to predictions.csv and shown in report.html); null when
    /// the evaluation did not keep them.
    /// </summary>
    public IReadOnlyList<PredictionRow>? Predictions { get; init; }

    /// <summary>In memory only: the training history shown as learning curves (learning_curves.png and report.html).</summary>
    public LearningCurve? LearningCurve { get; init; }

    /// <summary>The report of computed metrics, with the scored items when given.</summary>
    public static EvaluationReport From(ClassificationMetrics metrics, IReadOnlyDictionary<string, string>? context = null,
        IReadOnlyList<PredictionRow>? predictions = null) => new()
    {
        Predictions = predictions,
        Classes = metrics.Classes,
        N = metrics.N,
        Accuracy = metrics.Accuracy,
        BalancedAccuracy = metrics.BalancedAccuracy,
        MacroF1 = metrics.MacroF1,
        RocAuc = metrics.RocAuc,
        LogLoss = metrics.LogLoss,
        ConfusionMatrix = metrics.ConfusionMatrix,
        PerClass = metrics.PerClass,
        ThresholdSweep = metrics.ThresholdSweep,
        Context = context ?? new Dictionary<string, string>(),
        RocCurves = metrics.Classes.Count == 2
            ? metrics.ThresholdSweep is { } sweep && !double.IsNaN(metrics.RocAuc) ? [new RocSeries(metrics.Classes[1], sweep, metrics.RocAuc)] : null
            : metrics.ClassSweeps?.Select((points, k) => new RocSeries(metrics.Classes[k], points, metrics.ClassRocAuc[k]))
                .Where(s => !double.IsNaN(s.Auc)).ToArray() is { Length: > 0 } curves ? curves : null,
    };

    /// <summary>The threshold with the highest F1 in the sweep (binary only), or null.</summary>
    public ThresholdPoint? BestF1Threshold() => ThresholdSweep?.MaxBy(p => p.F1);

    /// <summary>
    /// Writes the report (each file atomically). <paramref name="target"/> is a folder (report.json, report.md, report.html
    /// and predictions.csv go in it) or a .json path (the others go beside it with the same stem). With
    /// <paramref name="renderPlots"/>, first renders confusion_matrix.png, roc.png and (with a <see cref="LearningCurve"/>)
    /// learning_curves.png beside them and links them. predictions.csv is written when <see cref="Predictions"/> is set.
    /// Returns the report as written (with its plot links).
    /// </summary>
    public EvaluationReport Write(string target, bool renderPlots = true, Html.ClassificationPageOptions? page = null)
    {
        var isJson = target.EndsWith(".json", StringComparison.OrdinalIgnoreCase);
        var directory = isJson ? Path.GetDirectoryName(Path.GetFullPath(target))! : target;
        var files = Files(target);
        var (jsonPath, markdownPath, htmlPath, predictionsPath) = (files[0], files[1], files[2], files[3]);
        CheckTarget(target);
        Directory.CreateDirectory(directory);
        var report = this;
        if (renderPlots)
        {
            var plots = new Dictionary<string, string>(Plots);
            Evaluation.Plots.ConfusionMatrix(Path.Combine(directory, "confusion_matrix.png"), ConfusionMatrix, Classes);
            plots["confusion_matrix"] = "confusion_matrix.png";
            if (RocCurves is { Count: > 0 })
            {
                Evaluation.Plots.Roc(Path.Combine(directory, "roc.png"), RocCurves);
                plots["roc"] = "roc.png";
            }
            if (LearningCurve is { Epochs.Count: > 0 } curve)
            {
                var e = curve.Epochs;
                Evaluation.Plots.LearningCurves(Path.Combine(directory, "learning_curves.png"), e.Select(h => h.TrainLoss).ToArray(),
                    e.Where(h => h.ValLoss is not null).Select(h => h.ValLoss!.Value).ToArray(),
                    e.Where(h => h.ValAccuracy is not null).Select(h => h.ValAccuracy!.Value).ToArray());
                plots["learning_curves"] = "learning_curves.png";
            }
            report = this with { Plots = plots };
        }
        if (Predictions is not null) PredictionsCsv.Write(predictionsPath, Classes, Predictions);
        AtomicFile.WriteText(jsonPath, report.ToJson());
        AtomicFile.WriteText(markdownPath, report.ToMarkdown());
        AtomicFile.WriteText(htmlPath, Html.ClassificationPage.Build(report, page));
        return report;
    }

    /// <summary>
    /// Refuses a report target that would overwrite something else: an existing file where a folder is meant,
    /// or an existing .json that is not a report. Call it before the work to fail early; <see cref="Write"/> calls it too.
    /// </summary>
    public static void CheckTarget(string target)
    {
        var jsonPath = Files(target)[0];
        if (!target.EndsWith(".json", StringComparison.OrdinalIgnoreCase) && File.Exists(target))
            throw new OnnxTransferException($"{target}: is a file, not a report folder; give a folder or a .json path for --report.");
        if (File.Exists(jsonPath) && !IsReport(jsonPath))
            throw new OnnxTransferException($"{jsonPath}: exists and is not an evaluation report; give another --report path (it is not overwritten).");
    }

    /// <summary>The report.json, report.md, report.html and predictions.csv paths <see cref="Write"/> writes for <paramref name="target"/>.</summary>
    public static string[] Files(string target) => target.EndsWith(".json", StringComparison.OrdinalIgnoreCase)
        ? [target, Path.ChangeExtension(target, ".md"), Path.ChangeExtension(target, ".html"),
            // report.json keeps the plain name predictions.csv beside it; another stem prefixes it, so two reports in a folder keep theirs.
            Path.GetFileNameWithoutExtension(target) == "report" ? Path.Combine(Path.GetDirectoryName(target) ?? "", PredictionsCsv.FileName)
                : Path.ChangeExtension(target, ".predictions.csv")]
        : [Path.Combine(target, JsonFileName), Path.Combine(target, MarkdownFileName), Path.Combine(target, Html.ReportPage.FileName),
            Path.Combine(target, PredictionsCsv.FileName)];

    // A file we may replace: a JSON object with the report's own keys.
    private static bool IsReport(string path)
    {
        try
        {
            using var doc = JsonDocument.Parse(File.ReadAllBytes(path));
            return doc.RootElement.ValueKind == JsonValueKind.Object && doc.RootElement.TryGetProperty("confusion_matrix", out _);
        }
        catch (Exception e) when (e is JsonException or IOException or UnauthorizedAccessException) { return false; }
    }

    /// <summary>The report.json text (indented UTF-8 JSON).</summary>
    public string ToJson()
    {
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true }))
        {
            w.WriteStartObject();
            Number(w, "accuracy", Accuracy);
            Number(w, "balanced_accuracy", BalancedAccuracy);
            Number(w, "macro_f1", MacroF1);
            Number(w, "roc_auc", RocAuc);
            Number(w, "log_loss", LogLoss);
            w.WriteStartObject("confusion_matrix");
            Strings(w, "classes", Classes);
            w.WriteString("rows", "true class");
            w.WriteString("columns", "predicted class");
            w.WriteStartArray("matrix");
            foreach (var row in ConfusionMatrix)
            {
                w.WriteStartArray();
                foreach (var count in row) w.WriteNumberValue(count);
                w.WriteEndArray();
            }
            w.WriteEndArray();
            w.WriteEndObject();
            w.WriteStartObject("per_class");
            foreach (var m in PerClass)
            {
                w.WriteStartObject(m.Name);
                Number(w, "precision", m.Precision);
                Number(w, "recall", m.Recall);
                Number(w, "f1", m.F1);
                w.WriteNumber("support", m.Support);
                w.WriteEndObject();
            }
            w.WriteEndObject();
            w.WriteNumber("n", N);
            Strings(w, "classes", Classes);
            if (ThresholdSweep is not null)
            {
                w.WriteStartArray("threshold_sweep");
                foreach (var p in ThresholdSweep)
                {
                    w.WriteStartObject();
                    Number(w, "threshold", p.Threshold);
                    Number(w, "tpr", p.Tpr);
                    Number(w, "fpr", p.Fpr);
                    Number(w, "precision", p.Precision);
                    Number(w, "f1", p.F1);
                    Number(w, "accuracy", p.Accuracy);
                    w.WriteEndObject();
                }
                w.WriteEndArray();
            }
            StringMap(w, "context", Context);
            StringMap(w, "plots", Plots);
            w.WriteEndObject();
        }
        return Encoding.UTF8.GetString(buffer.ToArray()) + "\n";
    }

    /// <summary>The report.md text: headline metrics, a per-class table, the confusion matrix and plot links.</summary>
    public string ToMarkdown()
    {
        var inv = CultureInfo.InvariantCulture;
        string F(double v) => double.IsNaN(v) ? "n/a" : v.ToString("0.0000", inv);
        string Cell(string s) => s.Replace("|", "\\|", StringComparison.Ordinal);
        var md = new StringBuilder();
        md.Append("# Evaluation report\n\n");
        if (Context.Count > 0)
        {
            foreach (var (key, value) in Context) md.Append($"- **{key}**: {value}\n");
            md.Append('\n');
        }
        md.Append("| metric | value |\n|---|---|\n");
        md.Append($"| samples | {N} |\n| accuracy | {F(Accuracy)} |\n| balanced accuracy | {F(BalancedAccuracy)} |\n");
        md.Append($"| macro F1 | {F(MacroF1)} |\n| ROC-AUC{(Classes.Count > 2 ? " (one-vs-rest macro)" : "")} | {F(RocAuc)} |\n| log-loss | {F(LogLoss)} |\n");
        if (BestF1Threshold() is { } best)
            md.Append($"| best-F1 threshold on P({Cell(Classes[1])}) | {best.Threshold.ToString("0.####", inv)} (F1 {F(best.F1)}, TPR {F(best.Tpr)}, FPR {F(best.Fpr)}) |\n");
        md.Append("\n## Per class\n\n| class | precision | recall | F1 | support |\n|---|---|---|---|---|\n");
        foreach (var m in PerClass)
            md.Append($"| {Cell(m.Name)} | {F(m.Precision)} | {F(m.Recall)} | {F(m.F1)} | {m.Support} |\n");
        md.Append("\n## Confusion matrix\n\nRows: true class; columns: predicted class.\n\n| true \\ predicted | ");
        md.Append(string.Join(" | ", Classes.Select(Cell))).Append(" |\n|---|").Append(string.Concat(Enumerable.Repeat("---|", Classes.Count))).Append('\n');
        for (var t = 0; t < Classes.Count; t++)
            md.Append($"| **{Cell(Classes[t])}** | ").Append(string.Join(" | ", ConfusionMatrix[t])).Append(" |\n");
        if (Plots.Count > 0)
        {
            md.Append("\n## Plots\n\n");
            foreach (var (name, file) in Plots)
                md.Append($"![{name.Replace('_', ' ')}]({Uri.EscapeDataString(file).Replace("%2F", "/", StringComparison.Ordinal)})\n\n");
        }
        return md.ToString();
    }

    /// <summary>Reads a report.json written by <see cref="Write"/>.</summary>
    public static EvaluationReport Read(string path)
    {
        string text;
        try { text = File.ReadAllText(path); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new OnnxTransferException($"{path}: cannot read the report ({e.Message.Trim()}); check the path.", e);
        }
        try
        {
            using var doc = JsonDocument.Parse(text);
            var root = doc.RootElement;
            JsonElement Get(JsonElement parent, string key) =>
                parent.TryGetProperty(key, out var v) ? v
                    : throw new OnnxTransferException($"{path}: key '{key}' is missing; the file is not a complete report.json (re-run the evaluation).");
            var classes = Get(root, "classes").EnumerateArray().Select(e => e.GetString()!).ToArray();
            var perClass = Get(root, "per_class");
            return new EvaluationReport
            {
                Classes = classes,
                N = Get(root, "n").GetInt32(),
                Accuracy = Num(Get(root, "accuracy")),
                BalancedAccuracy = Num(Get(root, "balanced_accuracy")),
                MacroF1 = Num(Get(root, "macro_f1")),
                RocAuc = Num(Get(root, "roc_auc")),
                LogLoss = Num(Get(root, "log_loss")),
                ConfusionMatrix = Get(Get(root, "confusion_matrix"), "matrix").EnumerateArray()
                    .Select(r => (IReadOnlyList<int>)r.EnumerateArray().Select(v => v.GetInt32()).ToArray()).ToArray(),
                PerClass = classes.Select(c =>
                {
                    var m = Get(perClass, c);
                    return new ClassMetrics(c, Num(Get(m, "precision")), Num(Get(m, "recall")), Num(Get(m, "f1")), Get(m, "support").GetInt32());
                }).ToArray(),
                ThresholdSweep = root.TryGetProperty("threshold_sweep", out var sweep) && sweep.ValueKind == JsonValueKind.Array
                    ? sweep.EnumerateArray().Select(p => new ThresholdPoint(Num(Get(p, "threshold")), Num(Get(p, "tpr")), Num(Get(p, "fpr")),
                        Num(Get(p, "precision")), Num(Get(p, "f1")), Num(Get(p, "accuracy")))).ToArray()
                    : null,
                Context = ReadMap(root, "context"),
                Plots = ReadMap(root, "plots"),
            };
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or FormatException)
        {
            throw new OnnxTransferException($"{path}: not a valid report.json ({e.Message.Split('\n')[0].Trim()}); re-run the evaluation.", e);
        }
    }

    private static double Num(JsonElement e) => e.ValueKind == JsonValueKind.Null ? double.NaN : e.GetDouble();

    private static Dictionary<string, string> ReadMap(JsonElement root, string key) =>
        root.TryGetProperty(key, out var map) && map.ValueKind == JsonValueKind.Object
            ? map.EnumerateObject().ToDictionary(p => p.Name, p => p.Value.ValueKind == JsonValueKind.String ? p.Value.GetString()! : p.Value.GetRawText())
            : new Dictionary<string, string>();

    private static void Number(Utf8JsonWriter w, string key, double value)
    {
        if (double.IsFinite(value)) w.WriteNumber(key, value);
        else w.WriteNull(key);
    }

    private static void Strings(Utf8JsonWriter w, string key, IEnumerable<string> values)
    {
        w.WriteStartArray(key);
        foreach (var v in values) w.WriteStringValue(v);
        w.WriteEndArray();
    }

    private static void StringMap(Utf8JsonWriter w, string key, IReadOnlyDictionary<string, string> map)
    {
        w.WriteStartObject(key);
        foreach (var (k, v) in map) w.WriteString(k, v);
        w.WriteEndObject();
    }
}
