using OnnxTransfer.Backbones;
using OnnxTransfer.Curves;
using OnnxTransfer.Training.Heads;

namespace OnnxTransfer.Tests.Curves;

public class TransferCurveTests
{
    private static string SmallHymenoptera(TempDir dir) => SharedAssets.SmallHymenoptera(dir, train: 6, val: 5);

    [Fact]
    public async Task Every_method_is_scored_on_the_same_val_images_and_transfer_beats_raw_pixels()
    {
        using var dir = new TempDir();
        var data = SmallHymenoptera(dir);
        using var backbone = await FeatureBackbone.LoadAsync(SharedAssets.MobileNetV2Int8);
        var options = new CurveOptions
        {
            Sizes = [2, null], Seeds = [1], MinSteps = 2, PixelSize = 16,
            Head = new TrainingOptions { Epochs = 20, BatchSize = 8, LearningRate = 1e-2 },
            FineTune = new() { Training = new TrainingOptions { Epochs = 3, BatchSize = 8, LearningRate = 1e-3 } },
        };
        var outDir = Path.Combine(dir.Path, "curve");
        var result = await TransferCurve.RunAsync(backbone, backbone.LoadDataset(data), outDir, options);

        Assert.Equal("val", result.EvalName);
        Assert.Equal(10, result.EvalCount);
        Assert.Equal(8, result.Runs.Count); // 4 methods × 2 sizes × 1 seed
        Assert.All(result.Runs, r => Assert.InRange(r.Accuracy, 0, 1));
        Assert.All(result.Runs, r => Assert.InRange(r.BalancedAccuracy, 0, 1));
        // Accuracy on 10 images is a multiple of 1/10: every run was scored on the same 10 images.
        Assert.All(result.Runs, r => Assert.Equal(Math.Round(r.Accuracy * 10), r.Accuracy * 10, 6));
        Assert.Equal([4, 12], result.Runs.Where(r => r.Method == CurveMethod.Frozen).Select(r => r.TrainExamples));
        // Transfer: ImageNet features separate ants from bees with 6 examples each; 16×16 pixels cannot do much better than chance.
        var frozenAll = result.Runs.Single(r => r.Method == CurveMethod.Frozen && r.PerClass is null);
        var pixelsAll = result.Runs.Single(r => r.Method == CurveMethod.Pixels && r.PerClass is null);
        Assert.True(frozenAll.Accuracy >= 0.8, $"frozen accuracy {frozenAll.Accuracy}");
        Assert.True(frozenAll.Accuracy > pixelsAll.Accuracy, $"frozen {frozenAll.Accuracy} vs pixels {pixelsAll.Accuracy}");
        Assert.True(File.Exists(Path.Combine(outDir, "activations-4.parquet")));
        // Gradual unfreezing of 4 layers needs 5 epochs to release them all, more than the 3 asked for plain fine-tuning.
        Assert.Equal([5, 5], result.Runs.Where(r => r.Method == CurveMethod.Gradual).Select(r => r.Epochs));
        Assert.Equal([3, 3], result.Runs.Where(r => r.Method == CurveMethod.Unfrozen).Select(r => r.Epochs));

        // A re-run resumes: the runs come back from curve.json unchanged, nothing retrains.
        var again = await TransferCurve.RunAsync(backbone, backbone.LoadDataset(data), outDir, options);
        Assert.Equal(result.Runs, again.Runs);
    }
}
