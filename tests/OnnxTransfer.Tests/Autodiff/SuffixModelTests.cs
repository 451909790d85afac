using Microsoft.ML.OnnxRuntime;
using OnnxTransfer.Backbones;
using OnnxTransfer.Data;
using OnnxTransfer.Imaging;
using OnnxTransfer.Onnx;
using OnnxTransfer.Training.Heads;
using OnnxTransfer.Training.FineTuning;

namespace OnnxTransfer.Tests.Autodiff;

public class SuffixModelTests
{
    [Fact]
    public void Prefix_then_suffix_gives_the_features_of_the_whole_float_backbone()
    {
        var float32 = Dequantizer.Dequantize(OnnxModel.Load(SharedAssets.MobileNetV2Int8));
        var cut = BackboneCutter.Cut(float32.Model, new CutOptions { At = float32.FloatTensors["472_quantized"] });
        var graph = FineTuneGraphBuilder.Build(cut, HeadSpec.Linear, HeadTask.Binary, 2, UnfreezeRule.LastBlock);
        var items = DatasetLoader.Load(SharedAssets.Dataset("hymenoptera")).InSplit("val").TakePerClass(2, seed: 1).Items;
        var encoder = new ImageEncoder(ImagePreprocessing.ImageNet);
        var (cache, failed) = ActivationCache.InMemory(graph, encoder, items);
        Assert.Empty(failed);
        var shape = FineTuner.BoundaryShape(graph);
        using var suffix = new SuffixModel(cut, graph.Boundary, shape);
        var viaSuffix = suffix.Features(cache, batchSize: 3);

        // Independent: the whole cut backbone on the images.
        var images = items.SelectMany(i => encoder.Encode(i.Path)).ToArray();
        using var session = new InferenceSession(cut.ToBytes());
        using var runOptions = new RunOptions();
        using var x = OrtValue.CreateTensorValueFromMemory(images, [items.Count, 3, 224, 224]);
        using var output = session.Run(runOptions, [session.InputNames[0]], [x], [BackboneCutter.FeaturesOutput]);
        var whole = output[0].GetTensorDataAsSpan<float>().ToArray();
        Assert.Equal(whole.Length, viaSuffix.Length);
        Assert.Equal(1280, suffix.Dimension);
        for (var i = 0; i < whole.Length; i++) Assert.Equal(whole[i], viaSuffix[i], 3);
        Assert.DoesNotContain(suffix.Model.Graph.Input, i => i.Name == session.InputNames[0]);
    }
}
