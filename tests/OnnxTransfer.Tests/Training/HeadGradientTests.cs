using OnnxTransfer.Training.Heads;
using DataType = OnnxTransfer.Onnx.Proto.TensorProto.Types.DataType;

namespace OnnxTransfer.Tests.Training;

/// <summary>
/// The generated backward pass against central finite differences of the same float64 graph's loss,
/// for every layer and loss, with non-uniform sample weights.
/// </summary>
public class HeadGradientTests
{
    private const int Batch = 6, Dim = 5;

    [Theory]
    [InlineData("linear", HeadTask.MultiClass, 3, 0.0)]
    [InlineData("linear", HeadTask.MultiClass, 4, 0.1)]
    [InlineData("linear", HeadTask.Binary, 2, 0.0)]
    [InlineData("linear", HeadTask.MultiLabel, 3, 0.0)]
    [InlineData("mlp:4,3", HeadTask.MultiClass, 3, 0.0)]
    [InlineData("mlp:4,3+layernorm", HeadTask.MultiClass, 3, 0.2)]
    [InlineData("mlp:4+dropout=0.5", HeadTask.MultiClass, 3, 0.0)]
    [InlineData("mlp:4,3+layernorm+dropout=0.25", HeadTask.Binary, 2, 0.0)]
    [InlineData("mlp:4+layernorm", HeadTask.MultiLabel, 3, 0.1)]
    public void Gradients_match_central_finite_differences(string specText, HeadTask task, int classes, double smoothing)
    {
        var spec = HeadSpec.Parse(specText);
        var model = HeadGraphBuilder.BuildTraining(spec, task, Dim, classes, smoothing, DataType.Double);
        using var runner = new GraphRunner(model);
        var rng = new Random(17);
        double Normal() => Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble());

        var inputs = new Dictionary<string, (double[], long[])>
        {
            [HeadGraphBuilder.Features] = (Enumerable.Range(0, Batch * Dim).Select(_ => Normal()).ToArray(), [Batch, Dim]),
            [HeadGraphBuilder.Weights] = (Enumerable.Range(0, Batch).Select(_ => 0.2 + rng.NextDouble() * 2).ToArray(), [Batch]),
        };
        var ints = new Dictionary<string, (long[], long[])>();
        if (task == HeadTask.MultiLabel)
            inputs[HeadGraphBuilder.Labels] = (Enumerable.Range(0, Batch * classes).Select(_ => (double)rng.Next(2)).ToArray(), [Batch, classes]);
        else
            ints[HeadGraphBuilder.Labels] = (Enumerable.Range(0, Batch).Select(_ => (long)rng.Next(classes)).ToArray(), [Batch]);
        var parameters = HeadGraphBuilder.Parameters(spec, task, Dim, classes);
        foreach (var p in parameters)
            inputs[p.Name] = (Enumerable.Range(0, p.Count).Select(_ => Normal() * 0.7 + (p.Init == OnnxTransfer.Training.Engine.ParameterInit.Ones ? 1 : 0)).ToArray(), p.Dims);
        for (var i = 0; i < HeadGraphBuilder.DropoutWidths(spec).Count; i++)
        {
            var width = spec.Hidden[i];
            var keep = 1 / (1 - spec.Dropout);
            inputs[HeadGraphBuilder.DropoutMaskName(i)] = (Enumerable.Range(0, Batch * width).Select(_ => rng.NextDouble() < spec.Dropout ? 0 : keep).ToArray(), [Batch, width]);
        }

        var baseline = runner.Run(inputs, ints);
        var checkedCount = 0;
        foreach (var p in parameters)
        {
            var grad = baseline[HeadGraphBuilder.GradientName(p.Name)];
            Assert.Equal(p.Count, grad.Length);
            var (values, shape) = inputs[p.Name];
            foreach (var k in Enumerable.Range(0, p.Count).OrderBy(_ => rng.Next()).Take(8))
            {
                const double h = 1e-5;
                double LossAt(double v)
                {
                    var copy = (double[])values.Clone();
                    copy[k] = v;
                    var perturbed = new Dictionary<string, (double[], long[])>(inputs) { [p.Name] = (copy, shape) };
                    return runner.Run(perturbed, ints)[HeadGraphBuilder.Loss][0];
                }
                var numeric = (LossAt(values[k] + h) - LossAt(values[k] - h)) / (2 * h);
                var tolerance = 1e-6 * (Math.Abs(numeric) + Math.Abs(grad[k])) + 1e-9;
                Assert.True(Math.Abs(numeric - grad[k]) <= tolerance,
                    $"{specText} {task}: d loss / d {p.Name}[{k}] analytic {grad[k]:R} vs numeric {numeric:R}");
                checkedCount++;
            }
        }
        Assert.True(checkedCount >= parameters.Count);
    }
}
