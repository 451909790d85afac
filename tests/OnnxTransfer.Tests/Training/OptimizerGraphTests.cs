using OnnxTransfer.Training.Engine;
using OnnxTransfer.Training.Heads;
using DataType = OnnxTransfer.Onnx.Proto.TensorProto.Types.DataType;

namespace OnnxTransfer.Tests.Training;

/// <summary>The optimizer graph against straightforward C# implementations of the same update rules.</summary>
public class OptimizerGraphTests
{
    private static readonly HeadParameter[] Params =
    [
        new("w", [3, 2], ParameterInit.HeNormal, Decay: true),
        new("b", [2], ParameterInit.Zeros, Decay: false),
    ];

    [Theory]
    [InlineData(OptimizerKind.Sgd, 0.0, false, 0.0)]
    [InlineData(OptimizerKind.Sgd, 0.9, false, 0.05)]
    [InlineData(OptimizerKind.Sgd, 0.8, true, 0.01)]
    [InlineData(OptimizerKind.AdamW, 0, false, 0.0)]
    [InlineData(OptimizerKind.AdamW, 0, false, 0.1)]
    public void Several_steps_match_a_reference_implementation(OptimizerKind kind, double momentum, bool nesterov, double weightDecay)
    {
        var settings = new OptimizerSettings { Kind = kind, Momentum = momentum, Nesterov = nesterov, WeightDecay = weightDecay, Beta1 = 0.85, Beta2 = 0.99, Epsilon = 1e-7 };
        using var runner = new GraphRunner(OptimizerGraph.Build(Params, settings, DataType.Double));
        var rng = new Random(3);
        var param = Params.ToDictionary(p => p.Name, p => Enumerable.Range(0, p.Count).Select(_ => rng.NextDouble() - 0.5).ToArray());
        var states = Params.SelectMany(p => OptimizerGraph.StateNames(settings, p.Name).Select(s => (s, p)))
            .ToDictionary(t => t.s, t => new double[t.p.Count]);
        // Reference state: SGD buffer, Adam m and v.
        var refParam = param.ToDictionary(kv => kv.Key, kv => (double[])kv.Value.Clone());
        var buf = Params.ToDictionary(p => p.Name, p => new double[p.Count]);
        var m = Params.ToDictionary(p => p.Name, p => new double[p.Count]);
        var v = Params.ToDictionary(p => p.Name, p => new double[p.Count]);

        for (var step = 1; step <= 5; step++)
        {
            var lr = 0.1 / step;
            var grads = Params.ToDictionary(p => p.Name, p => Enumerable.Range(0, p.Count).Select(_ => rng.NextDouble() * 2 - 1).ToArray());
            var inputs = new Dictionary<string, (double[], long[])>
            {
                [OptimizerGraph.LearningRate] = ([lr], []),
                [OptimizerGraph.Step] = ([step], []),
            };
            foreach (var p in Params)
            {
                inputs[p.Name] = (param[p.Name], p.Dims);
                inputs[HeadGraphBuilder.GradientName(p.Name)] = (grads[p.Name], p.Dims);
                foreach (var s in OptimizerGraph.StateNames(settings, p.Name)) inputs[s] = (states[s], p.Dims);
            }
            var output = runner.Run(inputs);
            foreach (var p in Params)
            {
                param[p.Name] = output[OptimizerGraph.UpdatedName(p.Name)];
                foreach (var s in OptimizerGraph.StateNames(settings, p.Name)) states[s] = output[OptimizerGraph.UpdatedName(s)];
            }

            foreach (var p in Params)
            {
                var wd = p.Decay ? weightDecay : 0;
                var x = refParam[p.Name];
                for (var i = 0; i < p.Count; i++)
                {
                    var g = grads[p.Name][i];
                    if (kind == OptimizerKind.Sgd)
                    {
                        g += wd * x[i];
                        buf[p.Name][i] = momentum * buf[p.Name][i] + g;
                        var d = nesterov ? g + momentum * buf[p.Name][i] : buf[p.Name][i];
                        x[i] -= lr * d;
                    }
                    else
                    {
                        m[p.Name][i] = 0.85 * m[p.Name][i] + 0.15 * g;
                        v[p.Name][i] = 0.99 * v[p.Name][i] + 0.01 * g * g;
                        var mHat = m[p.Name][i] / (1 - Math.Pow(0.85, step));
                        var vHat = v[p.Name][i] / (1 - Math.Pow(0.99, step));
                        x[i] = x[i] * (1 - lr * wd) - lr * mHat / (Math.Sqrt(vHat) + 1e-7);
                    }
                }
                for (var i = 0; i < p.Count; i++)
                    Assert.Equal(x[i], param[p.Name][i], 1e-12);
            }
        }
    }

    [Fact]
    public void Clipping_scales_every_gradient_by_the_global_norm()
    {
        // Gradients (3,4) and (12): global norm 13; with max norm 6.5 each is halved (scale 6.5/(13+1e-6)).
        HeadParameter[] ps = [new("a", [2], ParameterInit.Zeros, false), new("c", [1], ParameterInit.Zeros, false)];
        var settings = new OptimizerSettings { Kind = OptimizerKind.Sgd, Momentum = 0, WeightDecay = 0, ClipNorm = 6.5 };
        using var runner = new GraphRunner(OptimizerGraph.Build(ps, settings, DataType.Double));
        var output = runner.Run(new Dictionary<string, (double[], long[])>
        {
            [OptimizerGraph.LearningRate] = ([1.0], []),
            [OptimizerGraph.Step] = ([1.0], []),
            ["a"] = ([0, 0], [2]), ["grad.a"] = ([3, 4], [2]), ["momentum.a"] = ([0, 0], [2]),
            ["c"] = ([1], [1]), ["grad.c"] = ([12], [1]), ["momentum.c"] = ([0], [1]),
        });
        var scale = 6.5 / (13 + 1e-6);
        Assert.Equal(13, output[OptimizerGraph.GradNorm][0], 12);
        Assert.Equal(-3 * scale, output["new.a"][0], 12);
        Assert.Equal(-4 * scale, output["new.a"][1], 12);
        Assert.Equal(1 - 12 * scale, output["new.c"][0], 12);

        // Below the limit nothing changes.
        var loose = new OptimizerSettings { Kind = OptimizerKind.Sgd, Momentum = 0, WeightDecay = 0, ClipNorm = 100 };
        using var runner2 = new GraphRunner(OptimizerGraph.Build(ps, loose, DataType.Double));
        var same = runner2.Run(new Dictionary<string, (double[], long[])>
        {
            [OptimizerGraph.LearningRate] = ([1.0], []), [OptimizerGraph.Step] = ([1.0], []),
            ["a"] = ([0, 0], [2]), ["grad.a"] = ([3, 4], [2]), ["momentum.a"] = ([0, 0], [2]),
            ["c"] = ([1], [1]), ["grad.c"] = ([12], [1]), ["momentum.c"] = ([0], [1]),
        });
        Assert.Equal(-3, same["new.a"][0], 12);
        Assert.Equal(-11, same["new.c"][0], 12);
    }
}
