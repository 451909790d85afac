using System.Globalization;
using OnnxTransfer.Evaluation;
using Xunit.Abstractions;

namespace OnnxTransfer.Tests.Evaluation;

/// <summary>`fit` on the real hymenoptera data writes report.html; in headless Chromium it shows exactly predictions.csv's mistakes.</summary>
public class FitReportTests(ITestOutputHelper output)
{
    [Fact]
    public async Task Fit_on_hymenoptera_writes_a_report_whose_gallery_shows_the_misclassified_val_images_with_their_scores()
    {
        using var dir = new TempDir();
        using var learner = await Learner.CreateAsync(SharedAssets.MobileNetV2Int8);
        var fit = await learner.FitAsync(SharedAssets.Dataset("hymenoptera"), dir.File("ants_bees.onnx"));
        var folder = Path.GetDirectoryName(fit.ReportPath!)!;
        var (classes, rows) = PredictionsCsv.Read(Path.Combine(folder, PredictionsCsv.FileName));
        Assert.Equal(fit.Report!.N, rows.Count);
        Assert.All(rows, r => Assert.Equal("val", r.Split));
        var wrong = rows.Where(r => r.IsMisclassified).ToArray();
        Assert.Equal(fit.Report.N - fit.Report.ConfusionMatrix.Select((r, k) => r[k]).Sum(), wrong.Length);

        await using var browser = await HeadlessChromium.StartAsync();
        var render = await browser.OpenAsync(Path.Combine(folder, "report.html"));
        var cards = await browser.EvaluateAsync<string[][]>(
            "Array.from(document.querySelectorAll('#gallery .card[data-kind=wrong]')).map(c => [c.dataset.path, c.innerText, String(c.querySelector('img') && c.querySelector('img').naturalWidth)])");
        Assert.Equal(wrong.Select(r => r.Path).Order(StringComparer.Ordinal), cards.Select(c => c[0]).Order(StringComparer.Ordinal));
        foreach (var card in cards)
        {
            var row = wrong.Single(r => r.Path == card[0]);
            Assert.True(int.Parse(card[2], CultureInfo.InvariantCulture) > 0, $"{card[0]}: no preview");
            // Both classes' scores are printed on the card, as the CSV has them.
            foreach (var score in row.Scores) Assert.Contains(((double)score).ToString("0.000", CultureInfo.InvariantCulture), card[1]);
        }
        Assert.Contains("kept", await browser.EvaluateAsync<string>("document.querySelector('#curves').textContent"));
        await browser.ScreenshotAsync(HtmlReportTests.ScreenshotPath("report-hymenoptera.png"));
        await browser.ScreenshotElementAsync(HtmlReportTests.ScreenshotPath("report-hymenoptera-gallery.jpg"), "#gallery-section", maxHeight: 720);
        Assert.Empty(browser.Errors);
        output.WriteLine(FormattableString.Invariant(
            $"{rows.Count} val images, {wrong.Length} misclassified; report.html {new FileInfo(Path.Combine(folder, "report.html")).Length / 1e3:F0} kB, rendered in {render.TotalSeconds:F2} s"));
    }
}
