using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using OnnxTransfer.Backbones;
using OnnxTransfer.Onnx;
using SkiaSharp;
using DataType = OnnxTransfer.Onnx.Proto.TensorProto.Types.DataType;

namespace OnnxTransfer.Tests.Backbones;

/// <summary>Cuts the shared int8 MobileNetV2 and checks the features against the uncut graph.</summary>
public class MobileNetCutTests
{
    private const string Pooled = "472_quantized";

    private static readonly Lazy<OnnxModel> Model = new(() => OnnxModel.Load(SharedAssets.MobileNetV2Int8));

    /// <summary>Two photos, roughly preprocessed (direct resize to 224, ImageNet mean/std), as [2,3,224,224].</summary>
    private static float[] PhotoBatch()
    {
        float[] mean = [0.485f, 0.456f, 0.406f], std = [0.229f, 0.224f, 0.225f];
        var photos = new[] { "dog.jpg", "cat.jpg" };
        var x = new float[photos.Length * 3 * 224 * 224];
        for (var b = 0; b < photos.Length; b++)
        {
            using var decoded = SKBitmap.Decode(SharedAssets.Photo(photos[b]));
            using var bitmap = decoded.Resize(new SKImageInfo(224, 224, SKColorType.Rgba8888, SKAlphaType.Unpremul), new SKSamplingOptions(SKFilterMode.Linear));
            for (var i = 0; i < 224; i++)
                for (var j = 0; j < 224; j++)
                {
                    var p = bitmap.GetPixel(j, i);
                    byte[] rgb = [p.Red, p.Green, p.Blue];
                    for (var c = 0; c < 3; c++)
                        x[((b * 3 + c) * 224 + i) * 224 + j] = (rgb[c] / 255f - mean[c]) / std[c];
                }
        }
        return x;
    }

    private static float Scalar(OnnxModel model, string name) => OnnxTensor.ToFloats(model.Graph.Initializer.Single(t => t.Name == name))[0];

    [Fact]
    public void Auto_picks_the_pooled_uint8_tensor_first()
    {
        var candidates = FeatureTensorFinder.Find(Model.Value);
        var first = candidates[0];
        Assert.Equal(Pooled, first.Tensor);
        Assert.Equal(1280, first.Dimension);
        Assert.Equal(DataType.Uint8, first.Info.ElementType);
        Assert.True(first.IsQuantized);
        Assert.Equal(new QuantizationParameters("464_scale", "464_zero_point"), first.Quantization);
        Assert.Contains("QLinearMatMul", first.Reason);
        Assert.Null(first.Info.Shape![0].Value); // symbolic batch
        // The pre-pool 7x7 map is offered too, needing pool avg.
        Assert.Contains(candidates, c => c.Info.ShapeText.EndsWith(",1280,7,7]") && c.Pool == FeaturePool.Avg && c.Dimension == 1280);

        var summary = ModelSummary.Of(Model.Value);
        Assert.True(summary.IsQuantized);
        Assert.Contains("QLinearMatMul", summary.QuantizedOps);
        Assert.Equal(Model.Value.Graph.Initializer.Sum(t => t.Dims.Aggregate(1L, (a, d) => a * d)), summary.ParameterCount);
    }

    [Fact]
    public void Cut_features_equal_the_dequantized_tensor_of_the_original_graph()
    {
        var model = Model.Value;
        var cut = BackboneCutter.Cut(model, new CutOptions());

        // Structure: one float [N,1280] output, no head, nothing unused.
        var output = TensorInfo.FromValueInfo(Assert.Single(cut.Graph.Output));
        Assert.Equal(BackboneCutter.FeaturesOutput, output.Name);
        Assert.Equal(DataType.Float, output.ElementType);
        Assert.Equal(2, output.Rank);
        Assert.Null(output.Shape![0].Value);
        Assert.NotEmpty(output.Shape[0].Symbol);
        Assert.Equal(1280, output.Shape[1].Value);
        Assert.Equal(Pooled, cut.Metadata[BackboneCutter.CutTensorKey]);
        Assert.DoesNotContain(cut.Graph.Node, n => n.OpType == "QLinearMatMul");
        // The backbone's residual QLinearAdds stay; the head's bias QLinearAdd goes.
        Assert.Equal(model.Graph.Node.Count(n => n.OpType == "QLinearAdd") - 1, cut.Graph.Node.Count(n => n.OpType == "QLinearAdd"));
        Assert.DoesNotContain(cut.Graph.Node, n => n.Output.Any(o => o.StartsWith("output", StringComparison.Ordinal)));
        Assert.DoesNotContain(cut.Graph.Initializer, t => t.Name.StartsWith("classifier", StringComparison.Ordinal) || t.Name.StartsWith("output", StringComparison.Ordinal));
        var read = cut.Graph.Node.SelectMany(n => n.Input).ToHashSet();
        Assert.All(cut.Graph.Initializer, t => Assert.Contains(t.Name, read));
        Assert.True(cut.Graph.Initializer.Count < model.Graph.Initializer.Count);

        // Numbers: the uncut graph with the pooled tensor exposed, dequantized here by hand.
        var x = PhotoBatch();
        var exposed = model.Clone();
        GraphEditor.ExposeOutput(exposed.Graph, Pooled);
        byte[] q;
        float[] logits;
        using (var session = new InferenceSession(exposed.ToBytes()))
        {
            using var r = session.Run([NamedOnnxValue.CreateFromTensor("input", new DenseTensor<float>(x, [2, 3, 224, 224]))], ["output", Pooled]);
            logits = r.First(v => v.Name == "output").AsEnumerable<float>().ToArray();
            q = r.First(v => v.Name == Pooled).AsEnumerable<byte>().ToArray();
        }
        var scale = Scalar(model, "464_scale");
        var zeroPoint = Scalar(model, "464_zero_point");
        var expected = q.Select(v => (v - zeroPoint) * scale).ToArray();

        float[] features;
        using (var session = new InferenceSession(cut.ToBytes()))
        {
            using var r = session.Run([NamedOnnxValue.CreateFromTensor("input", new DenseTensor<float>(x, [2, 3, 224, 224]))]);
            var t = r.Single().AsTensor<float>();
            Assert.Equal([2, 1280], t.Dimensions.ToArray());
            features = t.ToArray();
        }
        Assert.Equal(expected.Length, features.Length);
        for (var i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(expected[i] - features[i]) <= 1e-6f * Math.Max(1f, Math.Abs(expected[i])), $"feature {i}: {expected[i]} vs {features[i]}");
        Assert.True(features.Distinct().Count() > 100, "features look degenerate");

        // The features still carry the class: the dequantized head applied to them agrees with the model's top-1.
        var wt = model.Graph.Initializer.Single(t => t.Name == "classifier.1.weight_quantized");
        var w = OnnxTensor.ToFloats(wt);
        var wScale = Scalar(model, "classifier.1.weight_scale");
        var wZero = Scalar(model, "classifier.1.weight_zero_point");
        Assert.Equal([1280L, 1000L], wt.Dims.ToArray());
        var bias = OnnxTensor.ToFloats(model.Graph.Initializer.Single(t => t.Name == "classifier.1.bias_quantized"))
            .Select(v => (v - Scalar(model, "classifier.1.bias_zero_point")) * Scalar(model, "classifier.1.bias_scale")).ToArray();
        for (var b = 0; b < 2; b++)
        {
            var scores = bias.Select(v => (double)v).ToArray();
            for (var k = 0; k < 1280; k++)
            {
                var f = features[b * 1280 + k];
                if (f == 0) continue;
                for (var c = 0; c < 1000; c++) scores[c] += f * (w[k * 1000 + c] - wZero) * wScale;
            }
            var mine = Array.IndexOf(scores, scores.Max());
            var theirs = Array.IndexOf(logits, logits.Skip(b * 1000).Take(1000).Max(), b * 1000) - b * 1000;
            Assert.Equal(theirs, mine);
        }
    }
}
