using System.Text.RegularExpressions;
using OnnxTransfer.Evaluation;
using OnnxTransfer.Evaluation.Html;

namespace OnnxTransfer.Tests.Evaluation;

public class PredictionsCsvTests
{
    private static readonly string[] Classes = ["a, b", "c\"d"];

    private static PredictionRow[] Rows() =>
    [
        new("dir/x,1.jpg", "a, b", "c\"d", [0.1f, 0.9f], "val"),
        new("dir/\"q\".jpg", "c\"d", "c\"d", [1e-7f, 0.99999994f], "test"),
        new("dir/plain.jpg", "a, b", "a, b", [0.6666667f, 0.33333334f], "val"),
    ];

    [Fact]
    public void Rows_round_trip_with_quoted_fields_and_exact_scores()
    {
        using var dir = new TempDir();
        PredictionsCsv.Write(dir.File("p.csv"), Classes, Rows());
        var (classes, rows) = PredictionsCsv.Read(dir.File("p.csv"));
        Assert.Equal(Classes, classes);
        Assert.Equal(Rows().Length, rows.Count);
        for (var i = 0; i < rows.Count; i++)
        {
            Assert.Equal(Rows()[i].Path, rows[i].Path);
            Assert.Equal(Rows()[i].TrueLabel, rows[i].TrueLabel);
            Assert.Equal(Rows()[i].Split, rows[i].Split);
            Assert.Equal(Rows()[i].Scores, rows[i].Scores); // bit-exact floats
        }
        Assert.Equal([true, false, false], rows.Select(r => r.IsMisclassified));
    }

    [Fact]
    public void Rows_from_probabilities_take_the_first_arg_max_as_the_metrics_do()
    {
        var rows = PredictionRow.From(["p0", "p1"], ["x", "y"], ["val", "val"], [0.5f, 0.5f, 0.2f, 0.8f], ["x", "y"]);
        Assert.Equal(["x", "y"], rows.Select(r => r.PredictedLabel));
        var metrics = ClassificationMetrics.Compute(["x", "y"], [0.5f, 0.5f, 0.2f, 0.8f], ["x", "y"]);
        Assert.Equal(metrics.N - metrics.ConfusionMatrix.Select((r, k) => r[k]).Sum(), rows.Count(r => r.IsMisclassified));
    }

    [Theory]
    [InlineData("out", "out/report.html", "out/predictions.csv")]
    [InlineData("out/report.json", "out/report.html", "out/predictions.csv")]
    [InlineData("out/run1.json", "out/run1.html", "out/run1.predictions.csv")]
    public void Write_puts_the_page_and_the_predictions_beside_report_json(string target, string html, string csv)
    {
        using var dir = new TempDir();
        var metrics = ClassificationMetrics.Compute([0, 1, 1], [0.7f, 0.3f, 0.6f, 0.4f, 0.1f, 0.9f], ["ants", "bees"]);
        var rows = PredictionRow.From(["a.jpg", "b.jpg", "c.jpg"], ["ants", "bees", "bees"], ["val", "val", "val"], [0.7f, 0.3f, 0.6f, 0.4f, 0.1f, 0.9f], ["ants", "bees"]);
        EvaluationReport.From(metrics, null, rows).Write(dir.File(target), renderPlots: false);
        Assert.Equal(3, PredictionsCsv.Read(dir.File(csv)).Rows.Count);
        var page = File.ReadAllText(dir.File(html));
        // Self-contained: nothing is fetched from anywhere (no external script, style, font or image).
        Assert.DoesNotMatch(new Regex(@"(src|href)\s*=\s*[""']?(https?:)?//", RegexOptions.IgnoreCase), page);
        Assert.DoesNotContain("<link", page, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("\"b.jpg\"", page);
    }

    [Fact]
    public void A_page_with_a_label_outside_the_classes_is_refused_in_one_line()
    {
        var metrics = ClassificationMetrics.Compute([0, 1], [0.7f, 0.3f, 0.2f, 0.8f], ["ants", "bees"]);
        var report = EvaluationReport.From(metrics, null, [new PredictionRow("a.jpg", "wasps", "ants", [0.7f, 0.3f], "val")]);
        var e = Assert.Throws<OnnxTransferException>(() => ClassificationPage.Build(report));
        Assert.Contains("'wasps'", e.Message);
        Assert.DoesNotContain('\n', e.Message);
    }
}
