using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using OnnxTransfer.Backbones;
using OnnxTransfer.Onnx;
using DataType = OnnxTransfer.Onnx.Proto.TensorProto.Types.DataType;

namespace OnnxTransfer.Tests.Backbones;

/// <summary>A tiny QDQ-style classifier: x -> QuantizeLinear -> q -> DequantizeLinear -> Gemm -> logits.</summary>
public class QuantizedCutTests
{
    private const float Scale = 0.05f;

    private static OnnxModel Build(DataType type, int zeroPoint, out string q)
    {
        var model = OnnxModel.Create();
        var g = new GraphBuilder(model.Graph);
        var x = g.Input("x", DataType.Float, [null, 4], ["N"]);
        var scale = g.Scalar(Scale, "x_scale");
        var zp = type == DataType.Uint8
            ? g.Initializer(OnnxTensor.FromBytes("x_zp", [(byte)zeroPoint]))
            : g.Initializer(Int8Scalar("x_zp", (sbyte)zeroPoint));
        q = g.Node("QuantizeLinear", [x, scale, zp]);
        var dq = g.Node("DequantizeLinear", [q, scale, zp]);
        var logits = g.Node("Gemm", [dq, g.Initializer("w", new float[12], 4, 3)]);
        g.Alias(logits, "logits");
        g.Output("logits", DataType.Float, [null, 3], ["N"]);
        return model;
    }

    private static global::OnnxTransfer.Onnx.Proto.TensorProto Int8Scalar(string name, sbyte value)
    {
        var t = new global::OnnxTransfer.Onnx.Proto.TensorProto { Name = name, DataType = (int)DataType.Int8, RawData = Google.Protobuf.ByteString.CopyFrom([(byte)value]) };
        return t;
    }

    [Theory]
    [InlineData((int)DataType.Uint8, 128, 0, 255)]
    [InlineData((int)DataType.Int8, -3, -128, 127)]
    public void Cut_at_an_8bit_tensor_dequantizes_it(int elementType, int zeroPoint, int min, int max)
    {
        var type = (DataType)elementType; // the generated ONNX types are internal, so the theory takes the number
        var model = Build(type, zeroPoint, out var q);
        var candidates = FeatureTensorFinder.Find(model);
        Assert.Equal("DequantizeLinear", model.Graph.Node.First(n => n.Output.Contains(candidates[0].Tensor)).OpType);

        var cut = BackboneCutter.Cut(model, new CutOptions { At = q });
        Assert.Equal("float32 [N,4]", TensorInfo.FromValueInfo(cut.Graph.Output.Single()).ToString());
        Assert.DoesNotContain(cut.Graph.Node, n => n.OpType == "Gemm");

        float[] x = [0.123f, -1.5f, 7f, -9f, 0.026f, 0.074f, 3.33f, -0.01f];
        using var session = new InferenceSession(cut.ToBytes());
        using var r = session.Run([NamedOnnxValue.CreateFromTensor("x", new DenseTensor<float>(x, [2, 4]))]);
        var features = r.Single().AsEnumerable<float>().ToArray();
        // QuantizeLinear: saturate(round_half_even(x / scale) + zp); the cut then computes (q - zp) * scale.
        var expected = x.Select(v => (Math.Clamp((int)Math.Round(v / Scale, MidpointRounding.ToEven) + zeroPoint, min, max) - zeroPoint) * Scale).ToArray();
        for (var i = 0; i < x.Length; i++)
            Assert.True(Math.Abs(expected[i] - features[i]) < 1e-6f, $"[{i}] {expected[i]} vs {features[i]}");
    }
}
