using System.Globalization;
using OnnxTransfer.Curves;

namespace OnnxTransfer.Tests.Curves;

public class CurveReportTests
{
    private static CurveResult Known()
    {
        // Deterministic, distinct accuracies per run.
        var runs = new List<CurveRun>();
        foreach (var size in new int?[] { 5, 20, null })
            foreach (var method in new[] { CurveMethod.Frozen, CurveMethod.Unfrozen, CurveMethod.Pixels })
                foreach (var seed in size is null ? new ulong[] { 1 } : [1, 2, 3])
                {
                    var acc = 0.5 + 0.1 * (int)method + 0.01 * (size ?? 60) / 6 + 0.013 * seed * seed;
                    runs.Add(new CurveRun(method, size, seed, 2 * (size ?? 60), 10, Math.Min(acc, 1), Math.Min(acc - 0.02, 1), 0.5 * seed));
                }
        return new CurveResult("/data/bugs", "mobilenetv2-12-int8", ["ants", "bees"], "val",
            new Dictionary<string, int> { ["ants"] = 70, ["bees"] = 83 }, new Dictionary<string, int> { ["ants"] = 60, ["bees"] = 60 },
            new Dictionary<string, string> { ["unfreeze"] = "4", ["pixel_size"] = "32", ["min_steps"] = "100" }, runs, 1.5);
    }

    [Fact]
    public void Table_holds_the_mean_and_sample_sd_of_each_method_and_size_with_the_seed_count()
    {
        using var dir = new TempDir();
        var result = Known();
        var markdown = CurveReport.Write(result, dir.Path);
        Assert.Equal(markdown, File.ReadAllText(dir.File(CurveReport.MarkdownFileName)));
        var accuracyTable = markdown[..markdown.IndexOf("Balanced accuracy", StringComparison.Ordinal)];
        var columns = new[] { CurveMethod.Frozen, CurveMethod.Unfrozen, CurveMethod.Pixels };
        foreach (var size in new int?[] { 5, 20, null })
        {
            var row = accuracyTable.Split('\n').Single(l => l.StartsWith(size is null ? "| all (120 images)" : $"| {size} |", StringComparison.Ordinal));
            var cells = row.Split('|', StringSplitOptions.TrimEntries)[2..^1];
            for (var m = 0; m < columns.Length; m++)
            {
                var values = result.Runs.Where(r => r.Method == columns[m] && r.PerClass == size).Select(r => r.Accuracy).ToArray();
                double mean = 0;
                foreach (var v in values) mean += v;
                mean /= values.Length;
                double ss = 0;
                foreach (var v in values) ss += (v - mean) * (v - mean);
                var expected = values.Length == 1
                    ? string.Create(CultureInfo.InvariantCulture, $"{100 * mean:F1} (n=1)")
                    : string.Create(CultureInfo.InvariantCulture, $"{100 * mean:F1} ± {100 * Math.Sqrt(ss / (values.Length - 1)):F1} (n={values.Length})");
                Assert.Equal(expected, cells[m]);
            }
        }
        Assert.Contains("val, 153 images", markdown);
    }

    [Fact]
    public void Csv_json_and_plots_are_written_and_json_reads_back()
    {
        using var dir = new TempDir();
        var result = Known();
        CurveReport.Write(result, dir.Path);
        var lines = File.ReadAllLines(dir.File(CurveReport.CsvFileName));
        Assert.Equal(result.Runs.Count + 1, lines.Length);
        var first = lines[1].Split(',');
        Assert.Equal("frozen", first[0]);
        Assert.Equal("5", first[1]);
        Assert.Equal(result.Runs[0].Accuracy, double.Parse(first[5], CultureInfo.InvariantCulture));
        Assert.Equal("all", lines[^1].Split(',')[1]);
        foreach (var png in new[] { CurveReport.PlotFileName, CurveReport.BalancedPlotFileName })
        {
            var bytes = File.ReadAllBytes(dir.File(png));
            Assert.True(bytes.Length > 5000);
            Assert.Equal(new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G' }, bytes[..4]);
        }
        var back = CurveReport.ReadJson(dir.File(CurveReport.JsonFileName));
        Assert.Equal(result.Runs, back.Runs);
        Assert.Equal(result.Settings["unfreeze"], back.Settings["unfreeze"]);
        Assert.Equal(153, back.EvalCount);
    }
}
