using OnnxTransfer.Backbones;
using OnnxTransfer.Onnx;
using OnnxTransfer.Training.Heads;
using OnnxTransfer.Training.FineTuning;
using A = OnnxTransfer.Onnx.OnnxAttribute;
using DataType = OnnxTransfer.Onnx.Proto.TensorProto.Types.DataType;

namespace OnnxTransfer.Tests.Autodiff;

public class BlockBoundaryTests
{
    /// <summary>stem conv → BN → relu, then three residual blocks (conv → BN → relu → conv → BN → Add(skip) → relu), GAP → features.</summary>
    private static OnnxModel TinyResNet()
    {
        var model = OnnxModel.Create("tiny_resnet");
        var g = new GraphBuilder(model.Graph);
        var rng = new Random(5);
        string W(string hint, params long[] dims) => RandomWeights.Add(g, rng, hint, dims);
        string Bn(string x, string hint) => g.Node("BatchNormalization", [x, W(hint + ".scale", 4), W(hint + ".bias", 4),
            g.Initializer(hint + ".mean", new float[4], 4), g.Initializer(hint + ".var", [1f, 1f, 1f, 1f], 4)]);
        g.Input("image", DataType.Float, [null, 3, 8, 8], ["N"]);
        var x = g.Node("Relu", [Bn(g.Node("Conv", ["image", W("stem.w", 4, 3, 3, 3)], A.Ints("pads", 1, 1, 1, 1)), "stem.bn")]);
        for (var b = 1; b <= 3; b++)
        {
            var y = g.Node("Relu", [Bn(g.Node("Conv", [x, W($"b{b}.c1.w", 4, 4, 3, 3)], A.Ints("pads", 1, 1, 1, 1)), $"b{b}.bn1")]);
            y = Bn(g.Node("Conv", [y, W($"b{b}.c2.w", 4, 4, 3, 3)], A.Ints("pads", 1, 1, 1, 1)), $"b{b}.bn2");
            x = g.Node("Relu", [g.Node("Add", [y, x])]);
        }
        g.Alias(g.Node("Flatten", [g.Node("GlobalAveragePool", [x])]), BackboneCutter.FeaturesOutput);
        g.Output(BackboneCutter.FeaturesOutput, DataType.Float, [null, 4], ["N"]);
        return model;
    }

    [Fact]
    public void Residual_blocks_are_counted_back_from_the_features_and_split_the_graph_cleanly()
    {
        var model = TinyResNet();
        // The last Add has no layer after it; each earlier join adds a block of 2 convs + 2 BNs.
        Assert.Equal([4, 8], TrainableLayers.BlockBoundaries(model, BackboneCutter.FeaturesOutput));
        // Nothing with weights after the last join: "unfreeze N" counts blocks (the first block, after the stem, has no join before it).
        Assert.True(TrainableLayers.CountsBlocks(model, BackboneCutter.FeaturesOutput));
        Assert.Equal(4, TrainableLayers.LayersOfBlocks(model, BackboneCutter.FeaturesOutput, 1));
        Assert.Equal(8, TrainableLayers.LayersOfBlocks(model, BackboneCutter.FeaturesOutput, 2));
        var tooMany = Assert.Throws<OnnxTransferException>(() => TrainableLayers.LayersOfBlocks(model, BackboneCutter.FeaturesOutput, 3));
        Assert.Contains("2 residual block(s) can be unfrozen whole, fewer than the 3 asked", tooMany.Message);
        foreach (var layers in new[] { 4, 8 })
            Assert.Equal(layers, FineTuneGraphBuilder.Build(model, HeadSpec.Linear, HeadTask.Binary, 2, layers).Layers.Count);
        // One layer fewer puts the boundary inside a block, where the skip connection jumps over it.
        var inside = Assert.Throws<OnnxTransferException>(() => FineTuneGraphBuilder.Build(model, HeadSpec.Linear, HeadTask.Binary, 2, 3));
        Assert.Contains("skip connection", inside.Message);

        Assert.Equal(4, UnfreezeRule.Choose(100, [4, 8]).Layers);
        Assert.Equal((8, "600 examples in the smallest class (≥ 500): the last two blocks (8 layers)"), UnfreezeRule.Choose(600, [4, 8]));
        Assert.Equal(UnfreezeRule.LastBlock, UnfreezeRule.Choose(100, []).Layers);  // no residual blocks: MobileNetV2's counts
    }

    [Fact]
    public void The_dequantized_MobileNetV2_has_its_last_blocks_at_4_and_7_layers()
    {
        var float32 = Dequantizer.Dequantize(OnnxModel.Load(SharedAssets.MobileNetV2Int8));
        var backbone = BackboneCutter.Cut(float32.Model, new CutOptions { At = float32.FloatTensors["472_quantized"] });
        var blocks = TrainableLayers.BlockBoundaries(backbone, BackboneCutter.FeaturesOutput);
        Assert.Equal([UnfreezeRule.LastBlock, UnfreezeRule.LastTwoBlocks], blocks.Take(2));
        Assert.False(TrainableLayers.CountsBlocks(backbone, BackboneCutter.FeaturesOutput));  // its last block has no skip: N counts layers
        Assert.True(blocks.Count >= 8, $"{blocks.Count} residual blocks found: {string.Join(", ", blocks)}");  // MobileNetV2 has 10 residual joins
    }
}
