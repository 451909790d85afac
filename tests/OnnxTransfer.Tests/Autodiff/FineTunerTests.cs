using Microsoft.ML.OnnxRuntime;
using OnnxTransfer.Backbones;
using OnnxTransfer.Data;
using OnnxTransfer.Export;
using OnnxTransfer.Imaging;
using OnnxTransfer.Onnx;
using Xunit.Abstractions;
using OnnxTransfer.Training.Heads;
using OnnxTransfer.Training.FineTuning;
using ModelMetadata = OnnxTransfer.Export.ModelMetadata;

namespace OnnxTransfer.Tests.Autodiff;

public class FineTunerTests(ITestOutputHelper log)
{
    private static float[] Run(OnnxModel model, string output, params (string Name, OrtValue Value)[] inputs)
    {
        using var session = new InferenceSession(model.ToBytes());
        using var runOptions = new RunOptions(); // kept alive across Run
        using var results = session.Run(runOptions, inputs.Select(i => i.Name).ToArray(), inputs.Select(i => i.Value).ToArray(), [output]);
        return results[0].GetTensorDataAsSpan<float>().ToArray();
    }

    [Fact]
    public async Task Last_block_fine_tunes_on_hymenoptera_and_the_export_equals_its_parts()
    {
        var float32 = Dequantizer.Dequantize(OnnxModel.Load(SharedAssets.MobileNetV2Int8));
        var backbone = BackboneCutter.Cut(float32.Model, new CutOptions { At = float32.FloatTensors["472_quantized"] });
        var data = DatasetLoader.Load(SharedAssets.Dataset("hymenoptera"));
        var train = data.InSplit("train").TakePerClass(16, seed: 5).Items;
        var val = data.InSplit("val").TakePerClass(6, seed: 5).Items;
        var options = new FineTuneOptions
        {
            Unfreeze = 4,
            Training = new TrainingOptions { Epochs = 4, BatchSize = 8, LearningRate = 1e-3, Patience = 0 },
        };
        var metadata = new ModelMetadata { Labels = [], InputKind = ModelInputKind.ImageTensor, Backbone = "mobilenetv2-12-int8 (dequantized)" };
        var result = await FineTuner.FitAsync(backbone, ImagePreprocessing.ImageNet, train, val, options, metadata);
        foreach (var m in result.History) log.WriteLine($"epoch {m.Epoch}: loss {m.TrainLoss:F4}, acc {m.TrainAccuracy:P0}, val loss {m.ValLoss:F4}, val acc {m.ValAccuracy:P0}");

        Assert.Equal(["ants", "bees"], result.Classes);
        Assert.True(result.History[^1].TrainLoss < result.History[0].TrainLoss, $"loss {result.History[0].TrainLoss} → {result.History[^1].TrainLoss}");
        Assert.Contains("last 4 layer(s)", result.Model.Metadata[FineTuner.UnfrozenMetadataKey]);
        // The backbone weights moved (and only the unfrozen ones).
        var original = backbone.Graph.Initializer.ToDictionary(t => t.Name);
        var moved = result.TunedBackbone.Graph.Initializer.Where(t => (OnnxTransfer.Onnx.Proto.TensorProto.Types.DataType)t.DataType == OnnxTransfer.Onnx.Proto.TensorProto.Types.DataType.Float
            && !OnnxTensor.ToFloats(t).SequenceEqual(OnnxTensor.ToFloats(original[t.Name]))).Select(t => t.Name).Order(StringComparer.Ordinal).ToArray();
        Assert.Equal(result.Graph.BackboneValues.Keys.Order(StringComparer.Ordinal).ToArray(), moved);

        // The merged model equals prefix → (suffix + head) run separately: the training graph at the kept weights.
        var items = val.Take(6).ToArray();
        var encoder = new ImageEncoder(ImagePreprocessing.ImageNet);
        var images = items.SelectMany(i => encoder.Encode(i.Path)).ToArray();
        using var imageValue = OrtValue.CreateTensorValueFromMemory(images, [items.Length, 3, 224, 224]);
        var merged = Run(result.Model, ModelExporter.ProbabilitiesOutput, (result.Model.Graph.Input[0].Name, imageValue));
        var boundary = Run(result.Graph.Prefix, result.Graph.Boundary, (result.Graph.Prefix.Graph.Input[0].Name, imageValue));
        var boundaryShape = TensorShapeProbe.Infer(result.Graph.Prefix, result.Graph.Boundary).Shape!.Skip(1).Select(d => d.Value!.Value).ToArray();
        var kept = result.TunedBackbone.Graph.Initializer.Concat(result.HeadEval.Graph.Initializer).ToDictionary(t => t.Name, t => t);
        var inputs = new List<(string, OrtValue)>
        {
            (result.Graph.Boundary, OrtValue.CreateTensorValueFromMemory(boundary, [items.Length, .. boundaryShape])),
            (HeadGraphBuilder.Labels, OrtValue.CreateTensorValueFromMemory(new long[items.Length], [items.Length])),
            (HeadGraphBuilder.Weights, OrtValue.CreateTensorValueFromMemory(Enumerable.Repeat(1f, items.Length).ToArray(), [items.Length])),
        };
        inputs.AddRange(result.Graph.Parameters.Select(p => (p.Name, OrtValue.CreateTensorValueFromMemory(OnnxTensor.ToFloats(kept[p.Name]), p.Dims))));
        var logits = Run(result.Graph.Training, HeadGraphBuilder.Logits, inputs.ToArray());
        // Binary head: one logit per image, P(bees) = sigmoid.
        Assert.Equal(items.Length * 2, merged.Length);
        var maxDiff = Enumerable.Range(0, items.Length).Max(i => Math.Abs(merged[2 * i + 1] - 1 / (1 + Math.Exp(-logits[i]))));
        log.WriteLine($"merged vs prefix+suffix+head: max |Δp| {maxDiff:E2}; cache {result.CacheTime.TotalMilliseconds:F0} ms for {train.Count + val.Count} images, {result.EpochTime.TotalMilliseconds:F0} ms per cached epoch");
        Assert.True(maxDiff <= 1e-4, $"max diff {maxDiff}");
    }

    [Fact]
    public async Task The_activation_store_holds_what_the_prefix_computes_and_is_reused()
    {
        var float32 = Dequantizer.Dequantize(OnnxModel.Load(SharedAssets.MobileNetV2Int8));
        var backbone = BackboneCutter.Cut(float32.Model, new CutOptions { At = float32.FloatTensors["472_quantized"] });
        var graph = FineTuneGraphBuilder.Build(backbone, HeadSpec.Linear, HeadTask.Binary, 2, unfreeze: 4);
        var items = DatasetLoader.Load(SharedAssets.Dataset("hymenoptera")).InSplit("val").TakePerClass(3, seed: 1).Items;
        var encoder = new ImageEncoder(ImagePreprocessing.ImageNet);
        var (memory, failed) = ActivationCache.InMemory(graph, encoder, items);
        Assert.Empty(failed);
        using var dir = new TempDir();
        var store = dir.File("act.parquet");
        var (stored, kept, computed) = await ActivationCache.InStoreAsync(graph, encoder, ImagePreprocessing.ImageNet, items, store);
        var size = FineTuner.BoundarySize(graph);
        Assert.Equal(7840, size);
        Assert.Equal(items.Count, kept.Count);
        Assert.Equal(items.Count, computed);
        for (var k = 0; k < kept.Count; k++)
        {
            var i = items.ToList().FindIndex(x => x.Id == kept[k].Id);
            for (var j = 0; j < size; j++) Assert.Equal(memory[i * size + j], stored[k * size + j], 5);
        }
        var written = File.GetLastWriteTimeUtc(store);
        var (again, _, recomputed) = await ActivationCache.InStoreAsync(graph, encoder, ImagePreprocessing.ImageNet, items, store);
        Assert.Equal(written, File.GetLastWriteTimeUtc(store)); // reused, not rewritten
        Assert.Equal(stored, again);
        Assert.Equal(0, recomputed);
    }

    [Theory]
    [InlineData(0, 0)]
    [InlineData(49, 0)]
    [InlineData(50, UnfreezeRule.LastBlock)]
    [InlineData(499, UnfreezeRule.LastBlock)]
    [InlineData(500, UnfreezeRule.LastTwoBlocks)]
    public void Auto_rule_picks_more_layers_with_more_examples_per_class(int perClass, int expected)
    {
        var (layers, reason) = UnfreezeRule.Choose(perClass);
        Assert.Equal(expected, layers);
        Assert.Contains(perClass.ToString(System.Globalization.CultureInfo.InvariantCulture), reason);
    }
}
