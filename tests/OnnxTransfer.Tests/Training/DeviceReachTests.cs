using System.Text.RegularExpressions;
using OnnxTransfer.Backbones;
using OnnxTransfer.Data;
using OnnxTransfer.Export;
using OnnxTransfer.Imaging;
using OnnxTransfer.Onnx;
using OnnxTransfer.Runtime;
using OnnxTransfer.Training.Engine;
using OnnxTransfer.Training.Heads;
using OnnxTransfer.Training.FineTuning;

namespace OnnxTransfer.Tests.Training;

/// <summary>
/// The caller's device reaches every session that training, activation caching and evaluation create: they take the
/// caller's <see cref="SessionFactory"/> (counted here), and no code in those folders builds a session any other way.
/// </summary>
public class DeviceReachTests
{
    [Fact]
    public void Head_training_and_evaluation_create_their_sessions_through_the_callers_factory()
    {
        using var dir = new TempDir();
        using var sessions = SessionFactory.ForTraining(ExecutionDevice.Cpu, 1);
        var data = SyntheticData.Blobs(12, 2, 3, separation: 3, seed: 4);
        var adamW = new TrainingOptions { Epochs = 2, BatchSize = 8, Optimizer = new OptimizerSettings { Kind = OptimizerKind.AdamW } };
        Trainer.Fit(data, null, adamW, dir.Path, sessions: sessions);
        Assert.Equal(3, sessions.SessionsCreated); // training graph, optimizer graph, eval graph
        using (HeadModel.Load(dir.Path, sessions)) { }
        Assert.Equal(4, sessions.SessionsCreated);
        Trainer.Resume(dir.Path, data, null, epochs: 3, sessions: sessions);
        Assert.Equal(7, sessions.SessionsCreated);
        // The full-batch solver of linear heads (the default) evaluates its objective through the same factory.
        Trainer.Fit(data, null, new TrainingOptions(), dir.File("lbfgs"), sessions: sessions);
        Assert.True(sessions.SessionsCreated > 7, $"{sessions.SessionsCreated} sessions");
    }

    [Fact]
    public async Task Fine_tuning_caches_and_trains_through_the_callers_factory()
    {
        var float32 = Dequantizer.Dequantize(OnnxModel.Load(SharedAssets.MobileNetV2Int8));
        var backbone = BackboneCutter.Cut(float32.Model, new CutOptions { At = float32.FloatTensors["472_quantized"] });
        var data = DatasetLoader.Load(SharedAssets.Dataset("hymenoptera"));
        var train = data.InSplit("train").TakePerClass(3, seed: 5).Items;
        var val = data.InSplit("val").TakePerClass(2, seed: 5).Items;
        var options = new FineTuneOptions { Unfreeze = 1, Training = new TrainingOptions { Epochs = 1, BatchSize = 4, Patience = 0 } };
        var metadata = new ModelMetadata { Labels = [], InputKind = ModelInputKind.ImageTensor, Backbone = "mobilenetv2-12-int8" };
        using var sessions = SessionFactory.ForTraining(ExecutionDevice.Cpu, 1);
        await FineTuner.FitAsync(backbone, ImagePreprocessing.ImageNet, train, val, options, metadata, sessions: sessions);
        // Prefix cache for train and val, the training graph, one optimizer per parameter group (backbone, head).
        Assert.Equal(5, sessions.SessionsCreated);
    }

    [Theory]
    [InlineData("Training")]
    [InlineData("Onnx/Autodiff")]
    [InlineData("Curves")]
    [InlineData("Comparison")]
    [InlineData("Evaluation")]
    [InlineData("Inference")]
    [InlineData("Features")]
    [InlineData("Backbones")]
    [InlineData("WakeWords")]
    [InlineData("Audio")]
    [InlineData("Onnx")]
    [InlineData("Export")]
    [InlineData("Imaging")]
    public void No_session_is_built_outside_the_session_factory(string folder)
    {
        // Runtime/ is where sessions are made (SessionFactory, and CudaSupport's probe of the provider).
        // The folder may live in any of the library projects (src/OnnxTransfer, src/OnnxTransfer.Inference, ...).
        var src = Path.Combine(SharedAssets.RepoRoot, "src");
        var roots = Directory.GetDirectories(src).Select(p => Path.Combine(p, folder)).Where(Directory.Exists).ToArray();
        Assert.NotEmpty(roots);
        var offenders = roots.SelectMany(root => Directory.EnumerateFiles(root, "*.cs", SearchOption.AllDirectories))
            .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}"))
            .Where(f => Regex.IsMatch(File.ReadAllText(f), @"new\s+(InferenceSession|SessionOptions)\s*[({]"))
            .Select(f => Path.GetRelativePath(src, f)).ToArray();
        Assert.Empty(offenders);
    }
}
