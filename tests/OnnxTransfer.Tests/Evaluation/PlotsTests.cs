using OnnxTransfer.Evaluation;
using SkiaSharp;

namespace OnnxTransfer.Tests.Evaluation;

public class PlotsTests
{
    /// <summary>Decodes the PNG and checks it has the requested size and real content (not blank, not one colour).</summary>
    private static void AssertNonTrivialPng(string path, int width, int height)
    {
        var bytes = File.ReadAllBytes(path);
        Assert.Equal(new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G' }, bytes[..4]);
        using var bitmap = SKBitmap.Decode(bytes);
        Assert.NotNull(bitmap);
        Assert.Equal((width, height), (bitmap.Width, bitmap.Height));
        var colours = new HashSet<uint>();
        long dark = 0, total = 0;
        for (var y = 0; y < bitmap.Height; y += 2)
            for (var x = 0; x < bitmap.Width; x += 2)
            {
                var c = bitmap.GetPixel(x, y);
                colours.Add((uint)c);
                if (c.Red + c.Green + c.Blue < 200) dark++;
                total++;
            }
        // Anti-aliased lines and text give many distinct colours; a blank or failed render gives a handful.
        Assert.True(colours.Count > 30, $"{Path.GetFileName(path)}: only {colours.Count} distinct colours");
        // Text and axes are dark; a plot without them (e.g. fonts failing) would have almost none.
        Assert.InRange((double)dark / total, 0.002, 0.9);
        Assert.Empty(Directory.GetFiles(Path.GetDirectoryName(path)!, "*.tmp"));
    }

    [Fact]
    public void Learning_curves_png_is_produced()
    {
        using var dir = new TempDir();
        var path = dir.File("learning_curves.png");
        Plots.LearningCurves(path, [0.9, 0.6, 0.45, 0.38, 0.33], [0.95, 0.7, 0.55, 0.52, 0.53], [0.6, 0.75, 0.82, 0.85, 0.84], width: 640, height: 480);
        AssertNonTrivialPng(path, 640, 480);
    }

    [Fact]
    public void Confusion_matrix_png_is_produced()
    {
        using var dir = new TempDir();
        var path = dir.File("cm.png");
        Plots.ConfusionMatrix(path, [[50, 3, 0], [4, 40, 6], [1, 2, 61]], ["cat", "dog", "finch"]);
        AssertNonTrivialPng(path, Plots.DefaultWidth, Plots.DefaultHeight);
    }

    [Fact]
    public void Roc_png_is_produced_with_several_curves()
    {
        using var dir = new TempDir();
        var random = new Random(1);
        var scores = Enumerable.Range(0, 200).Select(_ => random.NextDouble()).ToArray();
        var truth = scores.Select(s => random.NextDouble() < s).ToArray();
        var sweep = RocAnalysis.Sweep(scores, truth);
        var path = dir.File("roc.png");
        Plots.Roc(path, [new RocSeries("bees", sweep, RocAnalysis.Auc(scores, truth)), new RocSeries("ants", sweep.Select(p => p with { Tpr = p.Fpr + (1 - p.Fpr) * p.Tpr }).ToArray(), 0.9)]);
        AssertNonTrivialPng(path, Plots.DefaultWidth, Plots.DefaultHeight);
    }

    [Fact]
    public void Det_png_is_produced_with_zero_false_accepts_floored()
    {
        using var dir = new TempDir();
        var random = new Random(2);
        var positives = Enumerable.Range(0, 100).Select(_ => Math.Min(1, 0.5 + random.NextDouble())).ToArray();
        var negatives = Enumerable.Range(0, 1000).Select(_ => 0.9 * Math.Pow(random.NextDouble(), 4)).ToArray();
        var thresholds = Enumerable.Range(1, 99).Select(i => i / 100.0).ToArray();
        var det = DetCurve.FromScores(positives, negatives, 10, thresholds);
        Assert.Contains(det, p => p.FalseAcceptsPerHour == 0);
        var path = dir.File("det.png");
        Plots.Det(path, [new DetSeries("hey_jarvis", det)]);
        AssertNonTrivialPng(path, Plots.DefaultWidth, Plots.DefaultHeight);
    }

    [Fact]
    public void Text_is_rendered()
    {
        // Both matrices colour every cell the same (each row is 100 % on the diagonal); only the numbers
        // written in the cells differ. If text did not render (e.g. SkiaSharp's font-less native build),
        // the two images would be identical.
        using var dir = new TempDir();
        Plots.ConfusionMatrix(dir.File("one.png"), [[1, 0], [0, 1]], ["a", "b"]);
        Plots.ConfusionMatrix(dir.File("eight.png"), [[8, 0], [0, 8]], ["a", "b"]);
        Assert.NotEqual(Pixels(dir.File("one.png")), Pixels(dir.File("eight.png")));
        // Same for an axis label alone.
        Plots.LearningCurves(dir.File("acc.png"), [1, 0.5], [], [0.5, 0.7], metricName: "val accuracy");
        Plots.LearningCurves(dir.File("f1.png"), [1, 0.5], [], [0.5, 0.7], metricName: "val f1");
        Assert.NotEqual(Pixels(dir.File("acc.png")), Pixels(dir.File("f1.png")));
    }

    private static byte[] Pixels(string path)
    {
        using var bitmap = SKBitmap.Decode(path);
        return bitmap.Bytes;
    }

    [Fact]
    public void Bad_plot_input_is_a_clear_error()
    {
        using var dir = new TempDir();
        var e = Assert.Throws<OnnxTransferException>(() => Plots.ConfusionMatrix(dir.File("x.png"), [[1, 2]], ["a", "b"]));
        Assert.Contains("x.png", e.Message);
        Assert.Throws<OnnxTransferException>(() => Plots.LearningCurves(dir.File("y.png"), [], [], []));
        Assert.False(File.Exists(dir.File("x.png")));
    }
}
