using OnnxTransfer.Onnx;
using OnnxTransfer.Tests.Training;
using OnnxTransfer.Onnx.Autodiff;
using DataType = OnnxTransfer.Onnx.Proto.TensorProto.Types.DataType;

namespace OnnxTransfer.Tests.Autodiff;

/// <summary>
/// Builds a tiny graph around one op (inputs declared with fixed shapes, random values), adds
/// loss = Σ output · R with R a fixed random tensor, differentiates it with <see cref="GraphGradientBuilder"/>
/// and compares every input's gradient with central finite differences of the same graph's loss: along single
/// coordinates and along random directions.
/// </summary>
internal static class GradientCheck
{
    /// <summary>One differentiated input: its shape and how its random values are drawn.</summary>
    public sealed record Operand(string Name, long[] Shape, double Offset = 0, double Spread = 1);

    /// <param name="type">Float (ops ONNX Runtime runs only in float32) or Double.</param>
    /// <param name="operands">Inputs to differentiate (graph inputs).</param>
    /// <param name="build">Adds the op(s) on the operands and returns the output tensor.</param>
    /// <param name="step">Finite-difference step (ops linear in the checked input allow a large one, which float32 needs).</param>
    /// <param name="tolerance">Relative tolerance on |numeric − analytic|.</param>
    public static int Run(DataType type, Operand[] operands, Func<GraphBuilder, string> build, double step, double tolerance, int seed = 5, long opset = OnnxModel.DefaultOpset)
    {
        var model = OnnxModel.Create("gradient_check", opset);
        var g = new GraphBuilder(model.Graph);
        foreach (var o in operands) g.Input(o.Name, type, o.Shape.Select(d => (long?)d).ToArray());
        var output = build(g);
        var info = TensorShapeProbe.Infer(model, output);
        var shape = info.Shape!.Select(d => d.Value!.Value).ToArray();
        var rng = new Random(seed);
        var weights = Enumerable.Range(0, (int)OnnxTensor.ElementCount(shape)).Select(_ => rng.NextDouble() * 2 - 1).ToArray();
        var r = type == DataType.Double
            ? g.Initializer(OnnxTensor.FromDoubles("loss_weights", weights, shape))
            : g.Initializer(OnnxTensor.FromFloats("loss_weights", weights.Select(v => (float)v).ToArray(), shape));
        var loss = g.Node("ReduceSum", [g.Node("Mul", [output, r])], OnnxAttribute.Int("keepdims", 0));
        g.Alias(loss, "loss");
        g.Output("loss", type, []);

        var gradients = GraphGradientBuilder.Build(model, "loss", operands.Select(o => o.Name));
        using var runner = new GraphRunner(gradients.Model);
        var asFloat = type == DataType.Float;
        var inputs = operands.ToDictionary(o => o.Name, o => (Enumerable.Range(0, (int)OnnxTensor.ElementCount(o.Shape))
            .Select(_ => o.Offset + (rng.NextDouble() * 2 - 1) * o.Spread).ToArray(), o.Shape));
        var baseline = runner.Run(inputs, asFloat: asFloat);
        var checks = 0;
        foreach (var o in operands)
        {
            var grad = baseline[GradientGraph.GradientName(o.Name)];
            var (values, dims) = inputs[o.Name];
            Assert.Equal(values.Length, grad.Length);
            double LossAlong(double[] direction, double h)
            {
                var moved = values.Select((v, i) => v + h * direction[i]).ToArray();
                var perturbed = new Dictionary<string, (double[], long[])>(inputs) { [o.Name] = (moved, dims) };
                return runner.Run(perturbed, asFloat: asFloat)["loss"][0];
            }
            var directions = Enumerable.Range(0, values.Length).OrderBy(_ => rng.Next()).Take(6)
                .Select(k => Enumerable.Range(0, values.Length).Select(i => i == k ? 1.0 : 0.0).ToArray())
                .Concat(Enumerable.Range(0, 2).Select(_ => values.Select(_ => rng.NextDouble() * 2 - 1).ToArray()));
            foreach (var d in directions)
            {
                var numeric = (LossAlong(d, step) - LossAlong(d, -step)) / (2 * step);
                var analytic = grad.Select((v, i) => v * d[i]).Sum();
                var scale = Math.Abs(numeric) + Math.Abs(analytic);
                Assert.True(Math.Abs(numeric - analytic) <= tolerance * scale + tolerance * 1e-3,
                    $"d loss / d {o.Name} along a direction: analytic {analytic:R} vs numeric {numeric:R} (x={string.Join(",", values.Where((_, i) => d[i] != 0).Take(3).Select(v => v.ToString("F4")))})");
                checks++;
            }
        }
        return checks;
    }
}
