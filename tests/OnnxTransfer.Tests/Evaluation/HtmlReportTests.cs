using System.Diagnostics;
using System.Globalization;
using OnnxTransfer.Evaluation;
using OnnxTransfer.Training.Engine;
using SkiaSharp;
using Xunit.Abstractions;

namespace OnnxTransfer.Tests.Evaluation;

/// <summary>report.html opened in headless Chromium: what a person sees must match predictions.csv and the metrics computed in C#.</summary>
public class HtmlReportTests(ITestOutputHelper output)
{
    /// <summary>Where screenshots go: $ONNXTRANSFER_SCREENSHOTS (e.g. docs/ to refresh the README's), else the temp folder.</summary>
    internal static string ScreenshotPath(string name) =>
        Path.Combine(Environment.GetEnvironmentVariable("ONNXTRANSFER_SCREENSHOTS") is { Length: > 0 } dir ? dir : Path.Combine(Path.GetTempPath(), "onnxtransfer-screenshots"), name);

    // Photo-like JPEGs (shapes on a gradient), each a little different, so previews are realistic in size.
    internal static string[] Images(TempDir dir, int count, int width = 400, int height = 300)
    {
        var paths = new string[count];
        Parallel.For(0, count, i =>
        {
            var rng = new Random(i);
            using var bitmap = new SKBitmap(width, height);
            using (var canvas = new SKCanvas(bitmap))
            {
                using var shader = SKShader.CreateLinearGradient(new SKPoint(0, 0), new SKPoint(width, height),
                    [new SKColor((byte)rng.Next(256), (byte)rng.Next(256), (byte)rng.Next(256)), new SKColor((byte)rng.Next(256), (byte)rng.Next(256), (byte)rng.Next(256))], SKShaderTileMode.Clamp);
                using var fill = new SKPaint { Shader = shader };
                canvas.DrawRect(0, 0, width, height, fill);
                using var paint = new SKPaint { IsAntialias = true };
                for (var k = 0; k < 12; k++)
                {
                    paint.Color = new SKColor((byte)rng.Next(256), (byte)rng.Next(256), (byte)rng.Next(256), 200);
                    canvas.DrawCircle(rng.Next(width), rng.Next(height), rng.Next(10, 60), paint);
                }
            }
            paths[i] = dir.File($"item_{i:D4}.jpg");
            using var data = bitmap.Encode(SKEncodedImageFormat.Jpeg, 85);
            File.WriteAllBytes(paths[i], data.ToArray());
        });
        return paths;
    }

    // Scores that are right most of the time: the true class gets a boost, then a softmax.
    internal static (int[] Truth, float[] Probabilities) Scores(int n, int classes, int seed, double separation = 1.6)
    {
        var rng = new Random(seed);
        var truth = Enumerable.Range(0, n).Select(_ => rng.Next(classes)).ToArray();
        var probabilities = new float[n * classes];
        for (var i = 0; i < n; i++)
        {
            var logits = Enumerable.Range(0, classes).Select(k => (k == truth[i] ? separation : 0) + rng.NextDouble() * 2.5).ToArray();
            var max = logits.Max();
            var e = logits.Select(l => Math.Exp(l - max)).ToArray();
            var sum = e.Sum();
            for (var k = 0; k < classes; k++) probabilities[i * classes + k] = (float)(e[k] / sum);
        }
        return (truth, probabilities);
    }

    internal static EvaluationReport Report(string[] paths, int[] truth, float[] probabilities, string[] classes, string split = "val")
    {
        var labels = truth.Select(t => classes[t]).ToArray();
        var rows = PredictionRow.From(paths, labels, paths.Select(_ => split).ToArray(), probabilities, classes);
        var metrics = ClassificationMetrics.Compute(truth, probabilities, classes);
        var epochs = Enumerable.Range(1, 8).Select(e => new EpochMetrics(e, 1.0 / e, 1 - 0.5 / e, 0.5 + 0.02 * (e - 5) * (e - 5), 0.8 - 0.01 * Math.Abs(e - 5), 1e-3)).ToArray();
        return EvaluationReport.From(metrics, new Dictionary<string, string>
        {
            ["dataset"] = "synthetic", ["split"] = split, ["early_stopping"] = "10% of the training items", ["backbone"] = "none",
        }, rows) with { LearningCurve = new LearningCurve(epochs, 5) };
    }

    private static string CardsPaths(string kind) =>
        $"Array.from(document.querySelectorAll('#gallery .card[data-kind={kind}]')).map(c => c.dataset.path)";

    [Fact]
    public async Task Binary_report_lists_exactly_the_misclassified_items_and_the_threshold_slider_recomputes_the_counts()
    {
        using var dir = new TempDir();
        var paths = Images(dir, 60);
        var (truth, probabilities) = Scores(60, 2, seed: 3, separation: 1.0);
        string[] classes = ["normal", "pneumonia"];
        Report(paths, truth, probabilities, classes).Write(dir.File("report"));

        var (csvClasses, rows) = PredictionsCsv.Read(dir.File("report/predictions.csv"));
        Assert.Equal(classes, csvClasses);
        Assert.Equal(60, rows.Count);
        var wrong = rows.Where(r => r.IsMisclassified).Select(r => r.Path).Order(StringComparer.Ordinal).ToArray();
        Assert.NotEmpty(wrong);

        await using var browser = await HeadlessChromium.StartAsync();
        await browser.OpenAsync(dir.File("report/report.html"));

        // The gallery's mistakes are exactly predictions.csv's, each with its preview decoded and its score shown.
        var shown = await browser.EvaluateAsync<string[]>(CardsPaths("wrong"));
        Assert.Equal(wrong, shown.Order(StringComparer.Ordinal).ToArray());
        Assert.Equal(wrong.Length, await browser.EvaluateAsync<int>(
            "Array.from(document.querySelectorAll('#gallery .card[data-kind=wrong] img')).filter(i => i.complete && i.naturalWidth > 0).length"));
        var cardText = await browser.EvaluateAsync<string>($"document.querySelector('#gallery .card[data-path=\"{wrong[0]}\"]').innerText");
        var first = rows.Single(r => r.Path == wrong[0]);
        Assert.Contains(((double)first.Scores[Array.IndexOf(classes, first.PredictedLabel)]).ToString("0.000", CultureInfo.InvariantCulture), cardText);

        // Filtering by true class shows only that class's cards.
        var visibleTrue = await browser.EvaluateAsync<string[]>(
            "(() => { const s = document.querySelector('#filter-true'); s.value = '1'; s.dispatchEvent(new Event('change')); " +
            "return Array.from(document.querySelectorAll('#gallery .card')).filter(c => !c.hidden).map(c => c.dataset.true); })()");
        Assert.NotEmpty(visibleTrue);
        Assert.All(visibleTrue, t => Assert.Equal("1", t));

        // Moving the slider: the page's counts and accuracy equal those computed here from predictions.csv.
        var median = rows.Select(r => (double)r.Scores[1]).Order().ElementAt(rows.Count / 2);
        foreach (var threshold in new[] { 0.2, 0.5, 0.8, Math.Round(median, 3) })
        {
            var t = threshold.ToString("0.###", CultureInfo.InvariantCulture);
            var cells = await browser.EvaluateAsync<int[]>(
                $"(() => {{ const s = document.querySelector('#threshold'); s.value = '{t}'; s.dispatchEvent(new Event('input')); " +
                "return Array.from(document.querySelectorAll('#threshold-confusion td .n')).map(e => +e.textContent); })()");
            var expected = new int[4];
            foreach (var r in rows) expected[Array.IndexOf(classes, r.TrueLabel) * 2 + (r.Scores[1] >= double.Parse(t, CultureInfo.InvariantCulture) ? 1 : 0)]++;
            Assert.Equal(expected, cells);
            var accuracy = await browser.EvaluateAsync<string>("document.querySelector('#threshold-metrics .tile b').textContent");
            Assert.Equal(((double)(expected[0] + expected[3]) / rows.Count).ToString("0.0000", CultureInfo.InvariantCulture), accuracy);
            Assert.Equal(double.Parse(t, CultureInfo.InvariantCulture).ToString("0.000", CultureInfo.InvariantCulture),
                await browser.EvaluateAsync<string>("document.querySelector('#threshold-value').textContent"));
        }
        // The argmax confusion matrix matches report.json's.
        var matrix = await browser.EvaluateAsync<int[]>("Array.from(document.querySelectorAll('#confusion td .n')).map(e => +e.textContent)");
        Assert.Equal(EvaluationReport.Read(dir.File("report/report.json")).ConfusionMatrix.SelectMany(r => r).ToArray(), matrix);
        Assert.Equal(5, await browser.EvaluateAsync<int>("document.querySelectorAll('#curves figure').length")); // ROC, PR, reliability, 2 learning curves

        var screenshot = ScreenshotPath("report-classification.png");
        await browser.ScreenshotAsync(screenshot);
        Assert.Empty(browser.Errors);
        Assert.True(new FileInfo(screenshot).Length > 10_000);
        output.WriteLine($"screenshot: {screenshot}");
    }

    [Fact]
    public async Task A_thousand_item_report_stays_under_5_MB_and_renders()
    {
        using var dir = new TempDir();
        var paths = Images(dir, 1000);
        var (truth, probabilities) = Scores(1000, 3, seed: 11, separation: 0.8);
        var clock = Stopwatch.StartNew();
        Report(paths, truth, probabilities, ["cat", "dog", "fox"]).Write(dir.File("report"));
        var writeTime = clock.Elapsed;
        var html = new FileInfo(dir.File("report/report.html"));
        var wrong = PredictionsCsv.Read(dir.File("report/predictions.csv")).Rows.Count(r => r.IsMisclassified);

        await using var browser = await HeadlessChromium.StartAsync();
        var render = await browser.OpenAsync(html.FullName);
        var cards = await browser.EvaluateAsync<int>("document.querySelectorAll('#gallery .card[data-kind=wrong]').length");
        output.WriteLine(FormattableString.Invariant($"1,000 items, {wrong} misclassified: report.html {html.Length / 1e6:F2} MB, written in {writeTime.TotalSeconds:F1} s, rendered in headless Chromium in {render.TotalSeconds:F2} s"));
        Assert.Equal(wrong, cards);
        Assert.True(html.Length < 5_000_000, $"report.html is {html.Length} bytes");
        Assert.Empty(browser.Errors);
    }

    [Fact]
    public void Chromium_is_installed()
    {
        // The browser tests need it; say so plainly instead of failing somewhere inside a test.
        Assert.True(File.Exists(HeadlessChromium.Binary()));
    }
}
