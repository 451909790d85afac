using OnnxTransfer.Backbones;
using OnnxTransfer.Onnx;
using DataType = OnnxTransfer.Onnx.Proto.TensorProto.Types.DataType;

namespace OnnxTransfer.Tests.Backbones;

public class FeatureTensorFinderTests
{
    [Fact]
    public void Summary_of_a_tiny_float_classifier()
    {
        var tiny = new TinyClassifier();
        var s = ModelSummary.Of(tiny.Model);
        Assert.Equal(tiny.ParameterCount, s.ParameterCount);
        Assert.Equal(4, s.InitializerCount);
        Assert.Equal(tiny.Model.Graph.Node.Count, s.NodeCount);
        Assert.False(s.IsQuantized);
        Assert.Equal(17, s.Opsets[""]);
        Assert.Equal("image", Assert.Single(s.Inputs).Name);
        Assert.Equal("[N,3,4,4]", s.Inputs[0].ShapeText);
        Assert.Equal("float32 [N,5]", Assert.Single(s.Outputs).ToString());
        var ops = s.OpHistogram.ToDictionary(kv => kv.Key, kv => kv.Value);
        foreach (var op in new[] { "Conv", "Relu", "GlobalAveragePool", "Flatten", "Gemm", "Softmax", "Identity" })
            Assert.Equal(1, ops[op]);
    }

    [Fact]
    public void Candidates_rank_the_classifier_input_first_then_pooled_then_the_map()
    {
        var tiny = new TinyClassifier();
        var candidates = FeatureTensorFinder.Find(tiny.Model);
        Assert.Equal([tiny.Flat, tiny.Pooled, tiny.Relu], candidates.Select(c => c.Tensor));

        var first = candidates[0];
        Assert.Equal("[N,8]", first.Info.ShapeText);
        Assert.Equal(DataType.Float, first.Info.ElementType);
        Assert.Equal(8, first.Dimension);
        Assert.Equal(FeaturePool.None, first.Pool);
        Assert.False(first.IsQuantized);
        Assert.Contains("Gemm", first.Reason);

        Assert.Equal("[N,8,1,1]", candidates[1].Info.ShapeText);
        Assert.Equal(8, candidates[1].Dimension);

        var map = candidates[2];
        Assert.Equal("[N,8,4,4]", map.Info.ShapeText);
        Assert.Equal(FeaturePool.Avg, map.Pool);
        Assert.Equal(8, map.Dimension);
    }

    [Fact]
    public void A_model_without_a_recognised_head_offers_its_outputs()
    {
        var model = OnnxModel.Create();
        var g = new GraphBuilder(model.Graph);
        var x = g.Input("x", DataType.Float, [null, 6], ["N"]);
        g.Alias(g.Node("Tanh", [x]), "embedding");
        g.Output("embedding", DataType.Float, [null, 6], ["N"]);
        var c = Assert.Single(FeatureTensorFinder.Find(model));
        Assert.Equal("embedding", c.Tensor);
        Assert.Equal(6, c.Dimension);
    }
}
