using Microsoft.ML.OnnxRuntime;
using OnnxTransfer.Backbones;
using OnnxTransfer.Cli;
using OnnxTransfer.Data;
using OnnxTransfer.Export;
using OnnxTransfer.Imaging;
using OnnxTransfer.Onnx;
using Xunit.Abstractions;
using OnnxTransfer.Training.Heads;
using OnnxTransfer.Training.FineTuning;
using ModelMetadata = OnnxTransfer.Export.ModelMetadata;

namespace OnnxTransfer.Tests.Autodiff;

public class AugmentedActivationsTests(ITestOutputHelper log)
{
    private static OnnxModel Backbone()
    {
        var float32 = Dequantizer.Dequantize(OnnxModel.Load(SharedAssets.MobileNetV2Int8));
        return BackboneCutter.Cut(float32.Model, new CutOptions { At = float32.FloatTensors["472_quantized"] });
    }

    [Fact]
    public void Epoch_zero_is_the_cached_prefix_output_and_training_epochs_are_the_prefix_on_the_drawn_views()
    {
        var graph = FineTuneGraphBuilder.Build(Backbone(), HeadSpec.Linear, HeadTask.Binary, 2, unfreeze: 4);
        var items = DatasetLoader.Load(SharedAssets.Dataset("hymenoptera")).InSplit("val").TakePerClass(2, seed: 4).Items;
        var plain = new ImageEncoder(ImagePreprocessing.ImageNet);
        var encoder = new AugmentedImageEncoder(ImagePreprocessing.ImageNet, ImageAugmentation.Light, seed: 9);
        using var source = new AugmentedActivations(graph, encoder, items);
        var size = FineTuner.BoundarySize(graph);
        Assert.Equal(FineTuner.BoundaryShape(graph), source.SampleShape);
        int[] rows = [3, 0, 2, 1];

        var (cache, failed) = ActivationCache.InMemory(graph, plain, items);
        Assert.Empty(failed);
        var epoch0 = new float[rows.Length * size];
        source.Fill(0, rows, epoch0);
        for (var k = 0; k < rows.Length; k++)
            for (var j = 0; j < size; j++)
                Assert.Equal(cache[rows[k] * size + j], epoch0[k * size + j], 4);

        // Epoch 1: the prefix run separately on each item's drawn view, encoded on its own.
        var epoch1 = new float[rows.Length * size];
        source.Fill(1, rows, epoch1);
        using var session = new InferenceSession(graph.Prefix.ToBytes());
        using var runOptions = new RunOptions();
        for (var k = 0; k < rows.Length; k++)
        {
            var image = new float[3 * 224 * 224];
            encoder.Encode(items[rows[k]], 1, image);
            using var input = OrtValue.CreateTensorValueFromMemory(image, [1, 3, 224, 224]);
            using var output = session.Run(runOptions, [session.InputNames[0]], [input], [graph.Boundary]);
            var expected = output[0].GetTensorDataAsSpan<float>();
            for (var j = 0; j < size; j++) Assert.Equal(expected[j], epoch1[k * size + j], 4);
        }
        Assert.NotEqual(epoch0, epoch1);
        var again = new float[rows.Length * size];
        source.Fill(1, rows, again);
        Assert.Equal(epoch1, again);
    }

    [Fact]
    public void Unreadable_images_are_found_before_training()
    {
        using var dir = new TempDir();
        var bad = dir.File("broken.jpg");
        File.WriteAllBytes(bad, [0xFF, 0xD8, 0xFF, 0xE0, 1, 2, 3]);
        var good = DatasetLoader.Load(SharedAssets.Dataset("hymenoptera")).InSplit("val").TakePerClass(1, seed: 1).Items;
        var items = new[] { good[0], new DatasetItem(bad, "broken.jpg", "ants", "train"), good[1] };
        Assert.Equal([1], AugmentedActivations.FindUnreadable(new ImageEncoder(ImagePreprocessing.ImageNet), items));
    }

    [Fact]
    public async Task Fine_tuning_with_augmentation_learns_and_reruns_bit_identically()
    {
        var backbone = Backbone();
        var data = DatasetLoader.Load(SharedAssets.Dataset("hymenoptera"));
        var train = data.InSplit("train").TakePerClass(10, seed: 5).Items;
        var val = data.InSplit("val").TakePerClass(4, seed: 5).Items;
        var options = new FineTuneOptions
        {
            Unfreeze = 4,
            Augmentation = ImageAugmentation.Light,
            Training = new TrainingOptions { Epochs = 4, BatchSize = 5, LearningRate = 1e-3, Patience = 0, Seed = 3 },
        };
        var metadata = new ModelMetadata { Labels = [], InputKind = ModelInputKind.ImageTensor, Backbone = "mobilenetv2-12-int8 (dequantized)" };
        var first = await FineTuner.FitAsync(backbone, ImagePreprocessing.ImageNet, train, val, options, metadata);
        foreach (var m in first.History) log.WriteLine($"epoch {m.Epoch}: loss {m.TrainLoss:F4}, acc {m.TrainAccuracy:P0}, val loss {m.ValLoss:F4}, val acc {m.ValAccuracy:P0}");
        log.WriteLine($"{first.EpochTime.TotalMilliseconds:F0} ms per augmented epoch of {train.Count} images");

        Assert.Equal(4, first.History.Count);
        Assert.True(first.History[^1].TrainLoss < first.History[0].TrainLoss, $"loss {first.History[0].TrainLoss} → {first.History[^1].TrainLoss}");
        Assert.Equal($"{ImageAugmentation.Light}; seed 3", first.Model.Metadata[FineTuner.AugmentationMetadataKey]);
        Assert.Equal(val.Count, first.PrefixRuns); // only validation was cached

        var second = await FineTuner.FitAsync(backbone, ImagePreprocessing.ImageNet, train, val, options, metadata);
        Assert.Equal(first.History.Select(m => (m.TrainLoss, m.ValLoss)), second.History.Select(m => (m.TrainLoss, m.ValLoss)));
        Assert.Equal(first.Model.ToBytes(), second.Model.ToBytes());

        // Interrupted after epoch 2 and resumed from the checkpoint: the crops are drawn from (seed, epoch, id), so the
        // resumed epochs see the same images and the model is the uninterrupted one.
        using var dir = new TempDir();
        var checkpointed = options with { CheckpointPath = dir.File("augmented.ckpt") };
        using var cts = new CancellationTokenSource();
        var stopAfterTwo = new Progress(u => { if (u.Stage == "fine-tune" && u.Done == 2) cts.Cancel(); });
        await Assert.ThrowsAsync<OperationCanceledException>(() => FineTuner.FitAsync(backbone, ImagePreprocessing.ImageNet, train, val, checkpointed, metadata, stopAfterTwo, cts.Token));
        var resumed = await FineTuner.FitAsync(backbone, ImagePreprocessing.ImageNet, train, val, checkpointed, metadata);
        Assert.Equal(2, resumed.ResumedEpochs);
        Assert.Equal(first.Model.ToBytes(), resumed.Model.ToBytes());
    }

    [Theory]
    [InlineData("0", null, "--augment needs --unfreeze")]
    [InlineData("4", "zoom=2", "cannot read 'zoom=2'")]
    public void Fit_refuses_augmentation_without_unfrozen_layers_or_with_a_bad_spec(string unfreeze, string? spec, string expected)
    {
        using var dir = new TempDir();
        string[] args = ["fit", "--data", dir.Path, "--out", dir.File("m.onnx"), "--unfreeze", unfreeze, "--augment", .. spec is null ? Array.Empty<string>() : [spec]];
        var error = new StringWriter();
        Assert.Equal(CliApp.UsageError, CliApp.Run(args, new StringWriter(), error));
        Assert.Contains(expected, error.ToString());
    }

    private sealed class Progress(Action<ProgressUpdate> report) : IProgress<ProgressUpdate>
    {
        public void Report(ProgressUpdate value) => report(value);
    }
}
