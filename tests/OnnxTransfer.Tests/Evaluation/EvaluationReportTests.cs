using System.Text.Json;
using OnnxTransfer.Evaluation;

namespace OnnxTransfer.Tests.Evaluation;

public class EvaluationReportTests
{
    private static ClassificationMetrics Binary() =>
        ClassificationMetrics.Compute([0, 0, 0, 0, 1, 1],
            new[] { 0.2f, 0.3f, 0.7f, 0.5f, 0.6f, 0.2f }.SelectMany(p => new[] { 1 - p, p }).ToArray(), ["ants", "bees"]);

    private static ClassificationMetrics ThreeClass() =>
        ClassificationMetrics.Compute([0, 1, 2, 2, 1],
            [0.6f, 0.3f, 0.1f, 0.2f, 0.5f, 0.3f, 0.1f, 0.6f, 0.3f, 0.2f, 0.2f, 0.6f, 0.5f, 0.4f, 0.1f], ["a", "b|c", "d"]);

    private static readonly Dictionary<string, string> Context = new() { ["model"] = "mobilenetv2-12-int8", ["split"] = "val", ["dataset"] = "hymenoptera" };

    [Fact]
    public void Report_json_has_the_agreed_snake_case_keys_and_values()
    {
        using var dir = new TempDir();
        var m = Binary();
        EvaluationReport.From(m, Context).Write(dir.Path);

        using var doc = JsonDocument.Parse(File.ReadAllText(dir.File("report.json")));
        var root = doc.RootElement;
        var keys = root.EnumerateObject().Select(p => p.Name).ToHashSet();
        string[] required = ["accuracy", "balanced_accuracy", "macro_f1", "roc_auc", "log_loss", "confusion_matrix", "per_class", "n", "classes", "threshold_sweep", "context"];
        Assert.Subset(keys, required.ToHashSet());
        Assert.Equal(m.Accuracy, root.GetProperty("accuracy").GetDouble());
        Assert.Equal(m.BalancedAccuracy, root.GetProperty("balanced_accuracy").GetDouble());
        Assert.Equal(m.MacroF1, root.GetProperty("macro_f1").GetDouble());
        Assert.Equal(m.RocAuc, root.GetProperty("roc_auc").GetDouble());
        Assert.Equal(m.LogLoss, root.GetProperty("log_loss").GetDouble());
        Assert.Equal(6, root.GetProperty("n").GetInt32());
        Assert.Equal(["ants", "bees"], root.GetProperty("classes").EnumerateArray().Select(e => e.GetString()));
        var cm = root.GetProperty("confusion_matrix");
        Assert.Equal(["ants", "bees"], cm.GetProperty("classes").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal([3, 1], cm.GetProperty("matrix")[0].EnumerateArray().Select(e => e.GetInt32()));
        var bees = root.GetProperty("per_class").GetProperty("bees");
        Assert.Equal(["precision", "recall", "f1", "support"], bees.EnumerateObject().Select(p => p.Name));
        Assert.Equal(0.5, bees.GetProperty("f1").GetDouble(), 1e-9);
        Assert.Equal(2, bees.GetProperty("support").GetInt32());
        var sweep = root.GetProperty("threshold_sweep");
        Assert.Equal(m.ThresholdSweep!.Count, sweep.GetArrayLength());
        Assert.Equal(["threshold", "tpr", "fpr", "precision", "f1", "accuracy"], sweep[1].EnumerateObject().Select(p => p.Name));
        Assert.Equal("hymenoptera", root.GetProperty("context").GetProperty("dataset").GetString());
    }

    [Fact]
    public void Write_then_read_round_trips()
    {
        using var dir = new TempDir();
        var written = EvaluationReport.From(Binary(), Context).Write(dir.Path);
        var read = EvaluationReport.Read(dir.File("report.json"));
        Assert.Equal(written.Classes, read.Classes);
        Assert.Equal(written.N, read.N);
        Assert.Equal(written.Accuracy, read.Accuracy);
        Assert.Equal(written.RocAuc, read.RocAuc);
        Assert.Equal(written.LogLoss, read.LogLoss);
        Assert.Equal(written.PerClass, read.PerClass);
        Assert.Equal(written.ThresholdSweep, read.ThresholdSweep);
        Assert.Equal(written.ConfusionMatrix.Select(r => r.ToArray()), read.ConfusionMatrix.Select(r => r.ToArray()));
        Assert.Equal(written.Context, read.Context);
        Assert.Equal("roc.png", read.Plots["roc"]);
        Assert.Equal("confusion_matrix.png", read.Plots["confusion_matrix"]);
        Assert.True(new FileInfo(dir.File("roc.png")).Length > 5000);
        Assert.True(new FileInfo(dir.File("confusion_matrix.png")).Length > 5000);
        // Atomic writes leave no temp files behind.
        Assert.Empty(Directory.GetFiles(dir.Path, "*.tmp"));
    }

    [Fact]
    public void Multiclass_report_has_no_sweep_and_undefined_auc_is_null()
    {
        using var dir = new TempDir();
        // Every sample is class "a" here, so no class has both positives and negatives... except that
        // one-vs-rest for "a" has no negatives: AUC is undefined everywhere.
        var m = ClassificationMetrics.Compute([0, 0], [0.6f, 0.3f, 0.1f, 0.2f, 0.5f, 0.3f], ["a", "b", "c"]);
        EvaluationReport.From(m).Write(dir.Path, renderPlots: false);
        using var doc = JsonDocument.Parse(File.ReadAllText(dir.File("report.json")));
        Assert.Equal(JsonValueKind.Null, doc.RootElement.GetProperty("roc_auc").ValueKind);
        Assert.False(doc.RootElement.TryGetProperty("threshold_sweep", out _));
        Assert.True(double.IsNaN(EvaluationReport.Read(dir.File("report.json")).RocAuc));
        Assert.False(File.Exists(dir.File("confusion_matrix.png")));
    }

    [Fact]
    public void Markdown_has_headline_metrics_per_class_table_and_plot_links()
    {
        using var dir = new TempDir();
        EvaluationReport.From(ThreeClass(), Context).Write(dir.Path);
        var md = File.ReadAllText(dir.File("report.md"));
        Assert.Contains("| accuracy | 0.6000 |", md);
        Assert.Contains("| macro F1 | 0.6111 |", md);
        Assert.Contains("ROC-AUC (one-vs-rest macro) | 0.8611 |", md);
        Assert.Contains("| a | 0.5000 | 1.0000 | 0.6667 | 1 |", md);
        Assert.Contains("| b\\|c | 0.5000 | 0.5000 | 0.5000 | 2 |", md); // a '|' in a class name is escaped
        Assert.Contains("| **d** | 0 | 1 | 1 |", md);
        Assert.Contains("](confusion_matrix.png)", md);
        Assert.Contains("- **split**: val", md);
        // One-vs-rest ROC: one curve per class.
        Assert.Contains("](roc.png)", md);
        Assert.True(File.Exists(dir.File("roc.png")));
    }

    [Fact]
    public void Binary_markdown_names_the_best_f1_threshold()
    {
        var md = EvaluationReport.From(Binary()).ToMarkdown();
        // Best F1 in the sweep is 0.5 (at 0.6 and at 0.2; MaxBy keeps the first, 0.6).
        Assert.Contains("best-F1 threshold on P(bees) | 0.6 (F1 0.5000", md);
    }

    [Fact]
    public void Reading_a_broken_report_names_the_file_and_the_missing_key()
    {
        using var dir = new TempDir();
        File.WriteAllText(dir.File("report.json"), "{\"accuracy\": 0.5}");
        var e = Assert.Throws<OnnxTransferException>(() => EvaluationReport.Read(dir.File("report.json")));
        Assert.Contains("report.json", e.Message);
        Assert.Contains("'classes'", e.Message);
        File.WriteAllText(dir.File("bad.json"), "{not json");
        e = Assert.Throws<OnnxTransferException>(() => EvaluationReport.Read(dir.File("bad.json")));
        Assert.Contains("bad.json", e.Message);
        Assert.DoesNotContain('\n', e.Message);
    }
}
