using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using OnnxTransfer.Backbones;
using OnnxTransfer.Onnx;
using DataType = OnnxTransfer.Onnx.Proto.TensorProto.Types.DataType;

namespace OnnxTransfer.Tests.Backbones;

public class BackboneCutterTests
{
    private static float[] RandomImages(int n, int seed)
    {
        var rng = new Random(seed);
        return Enumerable.Range(0, n * TinyClassifier.C * TinyClassifier.H * TinyClassifier.W).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray();
    }

    private static (float[] Values, int[] Shape) RunFeatures(OnnxModel cut, float[] x, int n)
    {
        using var session = new InferenceSession(cut.ToBytes());
        var input = new DenseTensor<float>(x, [n, TinyClassifier.C, TinyClassifier.H, TinyClassifier.W]);
        using var results = session.Run([NamedOnnxValue.CreateFromTensor("image", input)]);
        var output = Assert.Single(results);
        Assert.Equal(BackboneCutter.FeaturesOutput, output.Name);
        var tensor = output.AsTensor<float>();
        return (tensor.ToArray(), tensor.Dimensions.ToArray());
    }

    private static void AssertClose(float[] expected, float[] actual, float tolerance)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (var i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(expected[i] - actual[i]) <= tolerance, $"[{i}] expected {expected[i]}, got {actual[i]}");
    }

    [Fact]
    public void Pool_avg_on_a_feature_map_gives_the_spatial_mean()
    {
        var tiny = new TinyClassifier();
        var cut = BackboneCutter.Cut(tiny.Model, new CutOptions { At = tiny.Relu, Pool = FeaturePool.Avg });

        Assert.DoesNotContain(cut.Graph.Node, n => n.OpType is "Gemm" or "Softmax");
        Assert.DoesNotContain(cut.Graph.Initializer, t => t.Name.StartsWith("fc.", StringComparison.Ordinal));
        Assert.Contains(cut.Graph.Node, n => n.OpType == "GlobalAveragePool" && n.Input[0] == tiny.Relu);
        var output = TensorInfo.FromValueInfo(Assert.Single(cut.Graph.Output));
        Assert.Equal("float32 [N,8]", output.ToString());
        Assert.Equal(tiny.Relu, cut.Metadata[BackboneCutter.CutTensorKey]);
        Assert.Equal("avg", cut.Metadata[BackboneCutter.CutPoolKey]);
        Assert.Equal("8", cut.Metadata[BackboneCutter.FeatureDimKey]);

        var x = RandomImages(3, seed: 1);
        var (features, shape) = RunFeatures(cut, x, 3);
        Assert.Equal([3, 8], shape);
        AssertClose(tiny.PooledFeatures(x, 3), features, 1e-5f);
    }

    [Fact]
    public void Auto_cuts_at_the_classifier_input_and_pool_none_flattens_a_map()
    {
        var tiny = new TinyClassifier();
        var x = RandomImages(2, seed: 2);
        var auto = BackboneCutter.Cut(tiny.Model);
        Assert.Equal(tiny.Flat, auto.Metadata[BackboneCutter.CutTensorKey]);
        AssertClose(tiny.PooledFeatures(x, 2), RunFeatures(auto, x, 2).Values, 1e-5f);

        // Without pooling, the [N,8,4,4] map is flattened to [N,128].
        var flat = BackboneCutter.Cut(tiny.Model, new CutOptions { At = tiny.Relu, Pool = FeaturePool.None });
        Assert.Equal("float32 [N,128]", TensorInfo.FromValueInfo(flat.Graph.Output[0]).ToString());
        var (values, shape) = RunFeatures(flat, x, 2);
        Assert.Equal([2, 128], shape);
        // Mean of each 16-value block is the pooled feature.
        var means = Enumerable.Range(0, 2 * 8).Select(k => values.Skip(k * 16).Take(16).Average()).ToArray();
        AssertClose(tiny.PooledFeatures(x, 2), means, 1e-5f);
    }

    [Fact]
    public void Unknown_tensor_name_is_named_with_the_top_candidates()
    {
        var tiny = new TinyClassifier();
        var e = Assert.Throws<OnnxFormatException>(() => BackboneCutter.Cut(tiny.Model, new CutOptions { At = "layer4_out" }));
        Assert.Contains("'layer4_out'", e.Message);
        Assert.Contains(tiny.Flat, e.Message);
        Assert.Contains(tiny.Pooled, e.Message);
        Assert.DoesNotContain('\n', e.Message);
    }

    [Fact]
    public void Pool_avg_on_a_vector_is_refused()
    {
        var tiny = new TinyClassifier();
        var e = Assert.Throws<OnnxFormatException>(() => BackboneCutter.Cut(tiny.Model, new CutOptions { At = tiny.Flat, Pool = FeaturePool.Avg }));
        Assert.Contains("--pool none", e.Message);
    }

    [Fact]
    public void Cutting_a_cut_model_again_frees_the_features_name()
    {
        var tiny = new TinyClassifier();
        var once = BackboneCutter.Cut(tiny.Model, new CutOptions { At = tiny.Relu, Pool = FeaturePool.None });
        var twice = BackboneCutter.Cut(once, new CutOptions { At = BackboneCutter.FeaturesOutput });
        Assert.Equal("float32 [N,128]", TensorInfo.FromValueInfo(Assert.Single(twice.Graph.Output)).ToString());
        var x = RandomImages(1, seed: 3);
        Assert.Equal(RunFeatures(once, x, 1).Values, RunFeatures(twice, x, 1).Values);
    }
}
