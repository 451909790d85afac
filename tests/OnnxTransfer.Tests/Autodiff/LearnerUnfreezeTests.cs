using OnnxTransfer.Training.Engine;
using OnnxTransfer.Training.Heads;
using OnnxTransfer.Training.FineTuning;

namespace OnnxTransfer.Tests.Autodiff;

public class LearnerUnfreezeTests
{
    private static string SmallHymenoptera(TempDir dir) => SharedAssets.SmallHymenoptera(dir, train: 8, val: 3);

    [Fact]
    public async Task Head_only_by_default_auto_follows_the_rule_and_fine_tuning_exports_a_scored_model()
    {
        using var dir = new TempDir();
        var data = SmallHymenoptera(dir);
        using (var headOnly = await Learner.CreateAsync(SharedAssets.MobileNetV2Int8))
            Assert.Equal(0, headOnly.ChooseUnfreeze(headOnly.LoadDataset(data)).Layers);

        var options = new LearnerOptions
        {
            Unfreeze = LearnerOptions.AutoUnfreeze,
            FineTune = new FineTuneOptions { Training = new TrainingOptions { Epochs = 2, BatchSize = 8, LearningRate = 1e-3 } },
        };
        using var learner = await Learner.CreateAsync(SharedAssets.MobileNetV2Int8, options);
        // The full set has 121 bees in train: the last block. The small copy has 8: head only.
        Assert.Equal(UnfreezeRule.LastBlock, learner.ChooseUnfreeze(learner.LoadDataset(SharedAssets.Dataset("hymenoptera"))).Layers);
        var (layers, reason) = learner.ChooseUnfreeze(learner.LoadDataset(data));
        Assert.Equal(0, layers);
        Assert.Contains("8 examples", reason);

        // Interrupted after epoch 1 (as Ctrl-C would): the checkpoint beside the model stays and the rerun continues from it.
        var checkpoint = dir.File("tuned.checkpoint-4.bin");
        using (var cts = new CancellationTokenSource())
        {
            var stopAfterFirstEpoch = new InlineProgress(u => { if (u.Stage == "fine-tune" && u.Done == 1) cts.Cancel(); });
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => learner.FineTuneAsync(data, dir.File("tuned.onnx"), UnfreezeRule.LastBlock, stopAfterFirstEpoch, cts.Token));
        }
        Assert.Equal(1, TrainingCheckpoint.Load(checkpoint).Epoch);
        Assert.False(File.Exists(dir.File("tuned.onnx")));
        var result = await learner.FineTuneAsync(data, dir.File("tuned.onnx"), UnfreezeRule.LastBlock);
        Assert.Equal(1, result.Result.ResumedEpochs);
        Assert.False(File.Exists(checkpoint));  // only kept while the run is unfinished
        Assert.True(File.Exists(result.ModelPath));
        // 8 training images per class, one of each carved out for early stopping: val (the only held-out split) is scored.
        Assert.Equal(14, result.TrainItems);
        Assert.Equal(2, result.Split.Validation.Count);
        Assert.Equal("val", result.Report!.Context["split"]);
        Assert.Equal(2, result.Result.History.Count);
        Assert.NotNull(result.Report);
        Assert.Equal(6, result.Report!.N);
        using var model = OnnxTransfer.Inference.TransferModel.Load(result.ModelPath);
        Assert.Equal(["ants", "bees"], model.Labels);
        Assert.Contains("last 4 layer(s)", OnnxTransfer.Onnx.OnnxModel.Load(result.ModelPath).Metadata[FineTuner.UnfrozenMetadataKey]);
    }

    private sealed class InlineProgress(Action<ProgressUpdate> report) : IProgress<ProgressUpdate>
    {
        public void Report(ProgressUpdate value) => report(value);
    }
}
