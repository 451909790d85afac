using OnnxTransfer.Onnx;
using OnnxTransfer.Tests.Training;
using Xunit.Abstractions;
using OnnxTransfer.Onnx.Autodiff;
using OnnxTransfer.Training.Engine;
using OnnxTransfer.Training.Heads;
using A = OnnxTransfer.Onnx.OnnxAttribute;
using DataType = OnnxTransfer.Onnx.Proto.TensorProto.Types.DataType;

namespace OnnxTransfer.Tests.Autodiff;

/// <summary>
/// A whole small CNN (Conv → BN → Relu → depthwise Conv → Clip → GlobalAveragePool → Flatten → Gemm, softmax
/// cross-entropy) differentiated end to end and trained with <see cref="OptimizerGraph"/> (float32: ONNX Runtime
/// has no float64 Conv).
/// </summary>
public class SmallCnnTrainingTests(ITestOutputHelper log)
{
    private const int Batch = 6, Classes = 3, Size = 8;

    private static (OnnxModel Model, Dictionary<string, (double[] Values, long[] Shape)> Parameters) Build()
    {
        var model = OnnxModel.Create("small_cnn");
        var g = new GraphBuilder(model.Graph);
        var rng = new Random(11);
        var parameters = new Dictionary<string, (double[], long[])>();
        string Param(string name, double scale, double offset, params long[] shape)
        {
            var values = Enumerable.Range(0, (int)OnnxTensor.ElementCount(shape)).Select(_ => offset + (rng.NextDouble() * 2 - 1) * scale).ToArray();
            parameters[name] = (values, shape);
            model.Graph.Initializer.Add(OnnxTensor.FromFloats(name, values.Select(v => (float)v).ToArray(), shape));
            return name;
        }
        g.Input("image", DataType.Float, [null, 3, Size, Size], ["N"]);
        g.Input("label", DataType.Int64, [null], ["N"]);
        var x = g.Node("Conv", ["image", Param("conv1.w", 0.4, 0, 4, 3, 3, 3), Param("conv1.b", 0.1, 0, 4)], A.Ints("pads", 1, 1, 1, 1));
        var mean = g.Initializer("bn.mean", [0.05f, -0.1f, 0.0f, 0.1f], 4);
        var variance = g.Initializer("bn.var", [0.8f, 1.2f, 1.0f, 0.9f], 4);
        x = g.Node("BatchNormalization", [x, Param("bn.scale", 0.2, 1, 4), Param("bn.bias", 0.1, 0, 4), mean, variance]);
        x = g.Node("Relu", [x]);
        x = g.Node("Conv", [x, Param("dw.w", 0.4, 0, 4, 1, 3, 3), Param("dw.b", 0.1, 0, 4)], A.Int("group", 4), A.Ints("strides", 2, 2), A.Ints("pads", 1, 1, 1, 1));
        x = g.Node("Clip", [x, g.Scalar(0), g.Scalar(6)]);
        x = g.Node("Flatten", [g.Node("GlobalAveragePool", [x])]);
        var logits = g.Node("Gemm", [x, Param("fc.w", 0.5, 0, 4, Classes), Param("fc.b", 0.1, 0, Classes)]);
        var onehot = g.Node("Cast", [g.Node("Equal", [g.Node("Unsqueeze", ["label", g.Int64s("axes", 1)]), g.Int64s("classes", 0, 1, 2)])], A.Int("to", (long)DataType.Float));
        var perSample = g.Node("Neg", [g.Node("ReduceSum", [g.Node("Mul", [onehot, g.Node("LogSoftmax", [logits], A.Int("axis", 1))]), g.Int64s("axes", 1)], A.Int("keepdims", 0))]);
        g.Alias(g.Node("ReduceMean", [perSample], A.Int("keepdims", 0)), "loss");
        g.Output("loss", DataType.Float, []);
        return (model, parameters);
    }

    private static (Dictionary<string, (double[], long[])> Images, Dictionary<string, (long[], long[])> Labels) Data()
    {
        // Each class brightens one colour channel, so the net can learn it.
        var rng = new Random(4);
        var labels = Enumerable.Range(0, Batch).Select(i => (long)(i % Classes)).ToArray();
        var pixels = new double[Batch * 3 * Size * Size];
        for (var n = 0; n < Batch; n++)
            for (var ch = 0; ch < 3; ch++)
                for (var k = 0; k < Size * Size; k++)
                    pixels[((n * 3) + ch) * Size * Size + k] = rng.NextDouble() - 0.5 + (ch == labels[n] ? 0.8 : 0);
        return (new() { ["image"] = (pixels, [Batch, 3, Size, Size]) }, new() { ["label"] = (labels, [Batch]) });
    }

    [Fact]
    public void Sgd_steps_reduce_the_loss_and_one_step_matches_finite_differences()
    {
        var (forward, initial) = Build();
        var names = initial.Keys.ToArray();
        var graph = GraphGradientBuilder.Build(forward, "loss", names, parametersAsInputs: true);
        Assert.DoesNotContain(graph.Model.Graph.Initializer, t => names.Contains(t.Name));
        Assert.Contains(graph.Model.Graph.Node, n => n.OpType == "ConvTranspose"); // the depthwise conv's input gradient
        var heads = names.Select(n => new HeadParameter(n, initial[n].Shape.Select(d => (int)d).ToArray(), ParameterInit.Zeros, false)).ToArray();
        var settings = new OptimizerSettings { Kind = OptimizerKind.Sgd, Momentum = 0, WeightDecay = 0 };
        using var train = new GraphRunner(graph.Model);
        using var optimizer = new GraphRunner(OptimizerGraph.Build(heads, settings));
        var (images, labels) = Data();
        const double lr = 0.5;

        Dictionary<string, double[]> Forward(Dictionary<string, (double[] Values, long[] Shape)> p)
        {
            var inputs = new Dictionary<string, (double[], long[])>(images);
            foreach (var (k, v) in p) inputs[k] = v;
            return train.Run(inputs, labels, asFloat: true);
        }
        Dictionary<string, (double[] Values, long[] Shape)> Step(Dictionary<string, (double[] Values, long[] Shape)> p, Dictionary<string, double[]> result)
        {
            var inputs = new Dictionary<string, (double[], long[])> { [OptimizerGraph.LearningRate] = ([lr], []), [OptimizerGraph.Step] = ([1], []) };
            foreach (var n in names)
            {
                inputs[n] = p[n];
                inputs[HeadGraphBuilder.GradientName(n)] = (result[GradientGraph.GradientName(n)], p[n].Shape);
                inputs[OptimizerGraph.StateNames(settings, n)[0]] = (new double[p[n].Values.Length], p[n].Shape);
            }
            var updated = optimizer.Run(inputs, asFloat: true);
            return names.ToDictionary(n => n, n => (updated[OptimizerGraph.UpdatedName(n)], p[n].Shape));
        }

        // One step against params − lr · (central finite-difference gradient of the float32 loss).
        var first = Forward(initial);
        var stepped = Step(initial, first);
        var worst = 0.0;
        foreach (var n in names)
        {
            var (values, shape) = initial[n];
            for (var k = 0; k < values.Length; k++)
            {
                const double h = 2e-3;
                double LossAt(double v)
                {
                    var copy = (double[])values.Clone();
                    copy[k] = v;
                    return Forward(new(initial) { [n] = (copy, shape) })["loss"][0];
                }
                var numeric = (LossAt(values[k] + h) - LossAt(values[k] - h)) / (2 * h);
                var reference = values[k] - lr * numeric;
                var difference = Math.Abs(stepped[n].Values[k] - reference);
                worst = Math.Max(worst, difference);
                Assert.True(difference <= lr * (1e-3 + 1e-2 * Math.Abs(numeric)),
                    $"{n}[{k}]: stepped {stepped[n].Values[k]:R} vs reference {reference:R} (numeric gradient {numeric:R})");
            }
        }
        log.WriteLine($"largest |graph step − finite-difference step| over {names.Sum(n => initial[n].Values.Length)} parameters: {worst:E2}");

        // A few more steps keep reducing the loss.
        var p = stepped;
        var losses = new List<double> { first["loss"][0] };
        for (var i = 0; i < 8; i++)
        {
            var r = Forward(p);
            losses.Add(r["loss"][0]);
            p = Step(p, r);
        }
        log.WriteLine("losses: " + string.Join(", ", losses.Select(l => l.ToString("F4"))));
        Assert.True(losses[^1] < 0.7 * losses[0], $"loss {losses[0]} → {losses[^1]}");
        Assert.True(losses[1] < losses[0]);
    }
}
