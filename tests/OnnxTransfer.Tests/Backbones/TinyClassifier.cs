using OnnxTransfer.Onnx;
using DataType = OnnxTransfer.Onnx.Proto.TensorProto.Types.DataType;

namespace OnnxTransfer.Tests.Backbones;

/// <summary>
/// A tiny float CNN classifier built in memory: x[N,3,4,4] -> Conv 3x3 pad 1 (8 ch, bias) -> Relu ->
/// GlobalAveragePool -> Flatten -> Gemm (5 classes) -> Softmax. Weights are seeded random, and
/// <see cref="PooledFeatures"/> recomputes the pooled features in plain C#.
/// </summary>
public sealed class TinyClassifier
{
    public const int C = 3, H = 4, W = 4, F = 8, Classes = 5;

    public TinyClassifier(int seed = 7)
    {
        var rng = new Random(seed);
        ConvW = Enumerable.Range(0, F * C * 9).Select(_ => (float)(rng.NextDouble() - 0.5)).ToArray();
        ConvB = Enumerable.Range(0, F).Select(_ => (float)(rng.NextDouble() - 0.5) * 0.2f).ToArray();
        GemmW = Enumerable.Range(0, Classes * F).Select(_ => (float)(rng.NextDouble() - 0.5)).ToArray();
        GemmB = Enumerable.Range(0, Classes).Select(_ => (float)rng.NextDouble()).ToArray();

        Model = OnnxModel.Create("tiny");
        var g = new GraphBuilder(Model.Graph);
        var x = g.Input("image", DataType.Float, [null, C, H, W], ["N"]);
        var conv = g.Node("Conv", [x, g.Initializer("conv.w", ConvW, F, C, 3, 3), g.Initializer("conv.b", ConvB, F)],
            OnnxAttribute.Ints("kernel_shape", 3, 3), OnnxAttribute.Ints("pads", 1, 1, 1, 1));
        Relu = g.Node("Relu", [conv]);
        Pooled = g.Node("GlobalAveragePool", [Relu]);
        Flat = g.Node("Flatten", [Pooled], OnnxAttribute.Int("axis", 1));
        var logits = g.Node("Gemm", [Flat, g.Initializer("fc.w", GemmW, Classes, F), g.Initializer("fc.b", GemmB, Classes)],
            OnnxAttribute.Int("transB", 1));
        var probs = g.Node("Softmax", [logits], OnnxAttribute.Int("axis", 1));
        g.Alias(probs, "probs");
        g.Output("probs", DataType.Float, [null, Classes], ["N"]);
    }

    public OnnxModel Model { get; }
    public float[] ConvW { get; }
    public float[] ConvB { get; }
    public float[] GemmW { get; }
    public float[] GemmB { get; }
    public string Relu { get; }
    public string Pooled { get; }
    public string Flat { get; }

    public long ParameterCount => ConvW.Length + ConvB.Length + GemmW.Length + GemmB.Length;

    /// <summary>mean over H,W of relu(conv(x)) for each item: [n, F], computed directly.</summary>
    public float[] PooledFeatures(float[] x, int n)
    {
        var result = new float[n * F];
        for (var b = 0; b < n; b++)
            for (var f = 0; f < F; f++)
            {
                double sum = 0;
                for (var i = 0; i < H; i++)
                    for (var j = 0; j < W; j++)
                    {
                        double acc = ConvB[f];
                        for (var c = 0; c < C; c++)
                            for (var di = -1; di <= 1; di++)
                                for (var dj = -1; dj <= 1; dj++)
                                {
                                    int ii = i + di, jj = j + dj;
                                    if (ii < 0 || jj < 0 || ii >= H || jj >= W) continue;
                                    acc += ConvW[((f * C + c) * 3 + di + 1) * 3 + dj + 1] * x[((b * C + c) * H + ii) * W + jj];
                                }
                        sum += Math.Max(acc, 0);
                    }
                result[b * F + f] = (float)(sum / (H * W));
            }
        return result;
    }
}
