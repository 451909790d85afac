using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using OnnxTransfer.Export;
using OnnxTransfer.Imaging;
using OnnxTransfer.Onnx;
using DataType = OnnxTransfer.Onnx.Proto.TensorProto.Types.DataType;

namespace OnnxTransfer.Tests.Export;

public class ModelMergerTests
{
    private static float[] Run(OnnxModel model, string input, DenseTensor<float> x, string? output = null)
    {
        using var session = new InferenceSession(model.ToBytes());
        using var results = session.Run([NamedOnnxValue.CreateFromTensor(input, x)]);
        var r = output is null ? results.First() : results.First(v => v.Name == output);
        return r.AsEnumerable<float>().ToArray();
    }

    private static DenseTensor<float> Random(int seed, params int[] dims)
    {
        var rng = new System.Random(seed);
        var t = new DenseTensor<float>(dims);
        for (var i = 0; i < t.Length; i++) t.SetValue(i, (float)(rng.NextDouble() * 2 - 1));
        return t;
    }

    // A "body" that maps [N,4] -> [N,3] and a "head" [N,3] -> [N,2] that reuses the body's names on purpose.
    private static (OnnxModel Body, OnnxModel Head) TwoParts()
    {
        var body = OnnxModel.Create("body", 12);
        var b = new GraphBuilder(body.Graph);
        b.Input("x", DataType.Float, [null, 4], ["n"]);
        var w = b.Initializer("w", Enumerable.Range(0, 12).Select(i => i * 0.1f - 0.5f).ToArray(), 4, 3);
        var h = b.Node("MatMul", ["x", w]);
        var r = b.Node("Relu", [h]);
        b.Alias(r, "features");
        b.Output("features", DataType.Float, [null, 3], ["n"]);

        var head = OnnxModel.Create("head", 17);
        var hb = new GraphBuilder(head.Graph);
        hb.Input("features", DataType.Float, [null, 3], ["n"]);
        var hw = hb.Initializer("w", [1f, -1f, 0.5f, 2f, -0.3f, 0.7f], 3, 2);
        var logits = hb.Node("MatMul", ["features", hw]);
        var p = hb.Node("Softmax", [logits], OnnxAttribute.Int("axis", 1));
        hb.Alias(p, "probabilities");
        hb.Output("probabilities", DataType.Float, [null, 2], ["n"]);
        return (body, head);
    }

    [Fact]
    public void Merged_model_equals_running_the_parts_in_sequence()
    {
        var (body, head) = TwoParts();
        var x = Random(1, 5, 4);
        var features = Run(body, "x", x);
        var expected = Run(head, "features", new DenseTensor<float>(features, [5, 3]));

        var merged = ModelMerger.Merge(body, "features", head, "features");
        var actual = Run(merged, "x", x);

        Assert.Equal(17, merged.OpsetVersion());
        Assert.Equal(["x"], merged.Graph.Input.Select(i => i.Name));
        Assert.Equal(["probabilities"], merged.Graph.Output.Select(o => o.Name));
        Assert.Equal(expected.Length, actual.Length);
        for (var i = 0; i < expected.Length; i++) Assert.Equal(expected[i], actual[i], 6);
        Assert.Equal(merged.Graph.Initializer.Count, merged.Graph.Initializer.Select(t => t.Name).Distinct().Count());
    }

    [Fact]
    public void Merging_to_a_missing_input_names_it()
    {
        var (body, head) = TwoParts();
        var e = Assert.Throws<OnnxFormatException>(() => ModelMerger.Merge(body, "features", head, "nope"));
        Assert.Contains("nope", e.Message);
    }

    [Fact]
    public void Upgrading_the_int8_mobilenet_to_opset_17_keeps_its_outputs()
    {
        var original = OnnxModel.Load(SharedAssets.MobileNetV2Int8);
        var upgraded = original.Clone();
        OpsetUpgrader.Upgrade(upgraded, 17);
        Assert.Equal(17, upgraded.OpsetVersion());
        var unsqueeze = upgraded.Graph.Node.Single(n => n.OpType == "Unsqueeze");
        Assert.Equal(2, unsqueeze.Input.Count); // axes moved from attribute to input

        var x = Random(7, 2, 3, 224, 224);
        var before = Run(original, "input", x);
        var after = Run(upgraded, "input", x);
        Assert.Equal(before, after);
    }

    [Fact]
    public void Clip_and_squeeze_from_old_opsets_keep_their_meaning()
    {
        var model = OnnxModel.Create("old", 7);
        var g = new GraphBuilder(model.Graph);
        g.Input("x", DataType.Float, [2, 1, 3], null);
        var c = g.Node("Clip", ["x"], OnnxAttribute.Float("min", 0f), OnnxAttribute.Float("max", 6f));
        var s = g.Node("Squeeze", [c], OnnxAttribute.Ints("axes", 1));
        g.Alias(s, "y");
        g.Output("y", DataType.Float, [2, 3], null);
        var x = new DenseTensor<float>(new[] { -1f, 3f, 9f, 0.5f, 6.5f, -7f }, [2, 1, 3]);
        var before = Run(model, "x", x);
        OpsetUpgrader.Upgrade(model, 17);
        var after = Run(model, "x", x);
        Assert.Equal([0f, 3f, 6f, 0.5f, 6f, 0f], before);
        Assert.Equal(before, after);
    }

    [Fact]
    public void Embedded_preprocessing_matches_the_formula()
    {
        var spec = ImagePreprocessing.ImageNet with { Width = 4, Height = 2 };
        var graph = PreprocessingGraph.Build(spec);
        var pixels = new byte[2 * 4 * 3];
        for (var i = 0; i < pixels.Length; i++) pixels[i] = (byte)(i * 11 % 256);
        using var session = new InferenceSession(graph.ToBytes());
        var input = new DenseTensor<byte>(pixels, [1, 2, 4, 3]);
        using var results = session.Run([NamedOnnxValue.CreateFromTensor(PreprocessingGraph.InputName, input)]);
        var output = results.First().AsTensor<float>();
        Assert.Equal([1, 3, 2, 4], output.Dimensions.ToArray());
        for (var y = 0; y < 2; y++)
            for (var x = 0; x < 4; x++)
                for (var c = 0; c < 3; c++)
                {
                    var expected = (pixels[(y * 4 + x) * 3 + c] / 255f - spec.Mean[c]) / spec.Std[c];
                    Assert.Equal(expected, output[0, c, y, x], 5);
                }
    }
}
