using OnnxTransfer.Onnx;

namespace OnnxTransfer.Tests.Autodiff;

/// <summary>Initializers of the tiny test networks: uniform in [-0.5, 0.5) from a seeded generator.</summary>
internal static class RandomWeights
{
    /// <summary>Adds a float initializer of shape <paramref name="dims"/> and returns its name.</summary>
    public static string Add(GraphBuilder g, Random rng, string hint, params long[] dims) =>
        g.Initializer(hint, Enumerable.Range(0, (int)OnnxTensor.ElementCount(dims)).Select(_ => (float)(rng.NextDouble() - 0.5)).ToArray(), dims);
}
