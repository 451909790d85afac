using Microsoft.ML.OnnxRuntime;
using OnnxTransfer.Backbones;
using OnnxTransfer.Data;
using OnnxTransfer.Imaging;
using OnnxTransfer.Onnx;
using OnnxTransfer.Tests.Training;
using Xunit.Abstractions;
using OnnxTransfer.Onnx.Autodiff;
using OnnxTransfer.Training.Engine;
using OnnxTransfer.Training.Heads;
using OnnxTransfer.Training.FineTuning;
using A = OnnxTransfer.Onnx.OnnxAttribute;
using DataType = OnnxTransfer.Onnx.Proto.TensorProto.Types.DataType;

namespace OnnxTransfer.Tests.Autodiff;

public class FineTuneGraphTests(ITestOutputHelper log)
{
    private const int Batch = 5, Classes = 3;

    /// <summary>image [N,3,6,6] → conv1 → relu → conv2 → BN → relu → GAP → flatten → features [N,4], with an optional skip from relu1.</summary>
    private static OnnxModel TinyBackbone(bool skip = false)
    {
        var model = OnnxModel.Create("tiny_backbone");
        var g = new GraphBuilder(model.Graph);
        var rng = new Random(21);
        string W(string hint, params long[] dims) => RandomWeights.Add(g, rng, hint, dims);
        g.Input("image", DataType.Float, [null, 3, 6, 6], ["N"]);
        var r1 = g.Node("Relu", [g.Node("Conv", ["image", W("conv1.w", 4, 3, 3, 3), W("conv1.b", 4)], A.Ints("pads", 1, 1, 1, 1))]);
        var c2 = g.Node("Conv", [r1, W("conv2.w", 4, 4, 3, 3), W("conv2.b", 4)], A.Ints("pads", 1, 1, 1, 1));
        var bn = g.Node("BatchNormalization", [c2, g.Initializer("bn.scale", [1.1f, 0.9f, 1.2f, 0.8f], 4), g.Initializer("bn.bias", [0.1f, 0.2f, -0.1f, 0.3f], 4),
            g.Initializer("bn.mean", [0f, 0.1f, -0.1f, 0.05f], 4), g.Initializer("bn.var", [1f, 0.5f, 2f, 1.5f], 4)]);
        var top = skip ? g.Node("Add", [g.Node("Conv", [bn, W("conv3.w", 4, 4, 1, 1)]), r1]) : bn;
        var features = g.Node("Flatten", [g.Node("GlobalAveragePool", [g.Node("Relu", [top])])]);
        g.Alias(features, BackboneCutter.FeaturesOutput);
        g.Output(BackboneCutter.FeaturesOutput, DataType.Float, [null, 4], ["N"]);
        return model;
    }

    private static float[] RunPrefix(OnnxModel model, float[] images, long[] shape, string output)
    {
        using var session = new InferenceSession(model.ToBytes());
        using var input = OrtValue.CreateTensorValueFromMemory(images, shape);
        using var runOptions = new RunOptions(); // kept alive across Run: a collected RunOptions frees native memory mid-run
        using var results = session.Run(runOptions, [session.InputNames[0]], [input], [output]);
        return results[0].GetTensorDataAsSpan<float>().ToArray();
    }

    [Fact]
    public void Head_gradients_match_the_heads_own_backward_and_backbone_gradients_match_finite_differences()
    {
        var backbone = TinyBackbone();
        var spec = HeadSpec.Parse("mlp:5+layernorm");
        var graph = FineTuneGraphBuilder.Build(backbone, spec, HeadTask.MultiClass, Classes, unfreeze: 2);
        // Counted back from the features: BN, then conv2; the boundary is conv2's input (relu1's output).
        Assert.Equal(["bn.bias", "bn.scale", "conv2.b", "conv2.w"], graph.Parameters.Take(4).Select(p => p.Name).Order(StringComparer.Ordinal).ToArray());
        Assert.Equal(backbone.Graph.Node.Single(n => n.OpType == "Relu" && n.Input[0].StartsWith("conv")).Output[0], graph.Boundary);
        Assert.DoesNotContain(graph.Training.Graph.Node, n => n.OpType == "ConvTranspose"); // no input gradient below the boundary

        var rng = new Random(8);
        var images = Enumerable.Range(0, Batch * 3 * 36).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray();
        var boundary = RunPrefix(graph.Prefix, images, [Batch, 3, 6, 6], graph.Boundary);
        var features = RunPrefix(backbone, images, [Batch, 3, 6, 6], BackboneCutter.FeaturesOutput);
        var inputs = new Dictionary<string, (double[], long[])>
        {
            [graph.Boundary] = (boundary.Select(v => (double)v).ToArray(), [Batch, 4, 6, 6]),
            [HeadGraphBuilder.Weights] = (Enumerable.Range(0, Batch).Select(_ => 0.5 + rng.NextDouble()).ToArray(), [Batch]),
        };
        var labels = new Dictionary<string, (long[], long[])> { [HeadGraphBuilder.Labels] = (Enumerable.Range(0, Batch).Select(i => (long)(i % Classes)).ToArray(), [Batch]) };
        foreach (var p in graph.Parameters)
            inputs[p.Name] = (graph.BackboneValues.TryGetValue(p.Name, out var v) ? v.Select(x => (double)x).ToArray()
                : Enumerable.Range(0, p.Count).Select(_ => rng.NextDouble() - 0.5).ToArray(), p.Dims);
        using var runner = new GraphRunner(graph.Training);
        var result = runner.Run(inputs, labels, asFloat: true);

        // The head's hand-written backward on the same features gives the same head gradients.
        var headInputs = new Dictionary<string, (double[], long[])>(inputs.Where(kv => !graph.BackboneValues.ContainsKey(kv.Key) && kv.Key != graph.Boundary))
        {
            [HeadGraphBuilder.Features] = (features.Select(v => (double)v).ToArray(), [Batch, 4]),
        };
        using var headRunner = new GraphRunner(HeadGraphBuilder.BuildTraining(spec, HeadTask.MultiClass, 4, Classes));
        var head = headRunner.Run(headInputs, labels, asFloat: true);
        Assert.Equal(head[HeadGraphBuilder.Loss][0], result[HeadGraphBuilder.Loss][0], 5);
        foreach (var p in HeadGraphBuilder.Parameters(spec, HeadTask.MultiClass, 4, Classes))
        {
            var expected = head[HeadGraphBuilder.GradientName(p.Name)];
            var actual = result[GradientGraph.GradientName(p.Name)];
            for (var i = 0; i < expected.Length; i++)
                Assert.True(Math.Abs(expected[i] - actual[i]) <= 1e-5 + 1e-4 * Math.Abs(expected[i]), $"{p.Name}[{i}]: {actual[i]} vs head backward {expected[i]}");
        }

        // The training graph's logits are what the deployable pair computes: backbone with these weights → head.
        var shifted = graph.BackboneValues.ToDictionary(kv => kv.Key, kv => kv.Value.Select(v => v * 1.1f).ToArray());
        var shiftedInputs = new Dictionary<string, (double[], long[])>(inputs);
        foreach (var (k, v) in shifted) shiftedInputs[k] = (v.Select(x => (double)x).ToArray(), inputs[k].Item2);
        var trainLogits = runner.Run(shiftedInputs, labels, asFloat: true)[HeadGraphBuilder.Logits];
        var tunedFeatures = RunPrefix(FineTuneGraphBuilder.WithWeights(backbone, shifted), images, [Batch, 3, 6, 6], BackboneCutter.FeaturesOutput);
        var headValues = HeadGraphBuilder.Parameters(spec, HeadTask.MultiClass, 4, Classes).ToDictionary(p => p.Name, p => inputs[p.Name].Item1.Select(v => (float)v).ToArray());
        using var eval = new GraphRunner(HeadGraphBuilder.BuildEval(spec, HeadTask.MultiClass, 4, Classes, headValues));
        var evalLogits = eval.Run(new Dictionary<string, (double[], long[])> { [HeadGraphBuilder.Features] = (tunedFeatures.Select(v => (double)v).ToArray(), [Batch, 4]) }, asFloat: true)[HeadGraphBuilder.Logits];
        Assert.Equal(evalLogits.Length, trainLogits.Length);
        for (var i = 0; i < evalLogits.Length; i++) Assert.Equal(evalLogits[i], trainLogits[i], 4);
        Assert.Throws<OnnxTransferException>(() => FineTuneGraphBuilder.WithWeights(backbone, new Dictionary<string, float[]> { ["conv2.w"] = [1f] }));

        // Backbone weights: directional central differences of the float32 loss.
        foreach (var name in graph.BackboneValues.Keys)
        {
            var (values, dims) = inputs[name];
            var grad = result[GradientGraph.GradientName(name)];
            // Along the gradient itself the directional derivative is as large as it gets, above float32 noise.
            var largest = grad.Max(Math.Abs);
            var direction = grad.Select(g => g / largest).ToArray();
            double LossAt(double h) => runner.Run(new Dictionary<string, (double[], long[])>(inputs)
                { [name] = (values.Select((v, i) => v + h * direction[i]).ToArray(), dims) }, labels, asFloat: true)[HeadGraphBuilder.Loss][0];
            const double step = 1e-3;
            var numeric = (LossAt(step) - LossAt(-step)) / (2 * step);
            var analytic = grad.Select((g, i) => g * direction[i]).Sum();
            log.WriteLine($"{name}: analytic {analytic:E4}, numeric {numeric:E4}");
            Assert.True(Math.Abs(numeric - analytic) <= 5e-3 * (Math.Abs(numeric) + Math.Abs(analytic)) + 1e-5, $"{name}: analytic {analytic} vs numeric {numeric}");
        }
    }

    [Fact]
    public void A_skip_connection_over_the_boundary_is_refused()
    {
        var e = Assert.Throws<OnnxTransferException>(() => FineTuneGraphBuilder.Build(TinyBackbone(skip: true), HeadSpec.Linear, HeadTask.MultiClass, Classes, unfreeze: 1));
        Assert.Contains("skip connection", e.Message);
    }

    [Fact]
    public void Mobilenet_last_block_and_linear_head_train_on_hymenoptera()
    {
        var float32 = Dequantizer.Dequantize(OnnxModel.Load(SharedAssets.MobileNetV2Int8));
        var backbone = BackboneCutter.Cut(float32.Model, new CutOptions { At = float32.FloatTensors["472_quantized"] });
        // The last inverted-residual block (expand, depthwise, project) and the final 1×1 conv to 1280 channels.
        var graph = FineTuneGraphBuilder.Build(backbone, HeadSpec.Linear, HeadTask.MultiClass, 2, unfreeze: 4);
        var boundaryShape = TensorShapeProbe.Infer(graph.Prefix, graph.Boundary).Shape!.Skip(1).Select(d => d.Value!.Value).ToArray();
        log.WriteLine($"boundary '{graph.Boundary}' [N,{string.Join(",", boundaryShape)}]; {graph.Parameters.Count} parameter tensors, {graph.Parameters.Sum(p => p.Count):N0} values; training graph {graph.Training.Graph.Node.Count} nodes");
        Assert.Equal([160L, 7, 7], boundaryShape);
        Assert.Equal(10, graph.Parameters.Count); // 4 convs × (W, b) + head W, b

        // Activation caching: the frozen prefix runs once per image.
        var items = DatasetLoader.Load(SharedAssets.Dataset("hymenoptera")).InSplit("train").TakePerClass(4, seed: 3).Items;
        var encoder = new ImageEncoder(ImagePreprocessing.ImageNet);
        var images = items.SelectMany(i => encoder.Encode(i.Path)).ToArray();
        var cached = RunPrefix(graph.Prefix, images, [items.Count, 3, 224, 224], graph.Boundary).Select(v => (double)v).ToArray();
        var labelNames = items.Select(i => i.Label).Distinct().Order().ToList();
        var labels = new Dictionary<string, (long[], long[])> { [HeadGraphBuilder.Labels] = (items.Select(i => (long)labelNames.IndexOf(i.Label)).ToArray(), [items.Count]) };

        var settings = new OptimizerSettings { Kind = OptimizerKind.AdamW, WeightDecay = 0 };
        using var train = new GraphRunner(graph.Training);
        using var optimizer = new GraphRunner(OptimizerGraph.Build(graph.Parameters, settings));
        var rng = new Random(2);
        var parameters = graph.Parameters.ToDictionary(p => p.Name, p => graph.BackboneValues.TryGetValue(p.Name, out var v)
            ? v.Select(x => (double)x).ToArray()
            : Enumerable.Range(0, p.Count).Select(_ => (rng.NextDouble() - 0.5) * 0.02).ToArray());
        var state = graph.Parameters.SelectMany(p => OptimizerGraph.StateNames(settings, p.Name).Select(s => (s, p))).ToDictionary(t => t.s, t => new double[t.p.Count]);
        var losses = new List<double>();
        var clock = System.Diagnostics.Stopwatch.StartNew();
        for (var step = 1; step <= 5; step++)
        {
            var inputs = new Dictionary<string, (double[], long[])>
            {
                [graph.Boundary] = (cached, [items.Count, .. boundaryShape]),
                [HeadGraphBuilder.Weights] = (Enumerable.Repeat(1.0, items.Count).ToArray(), [items.Count]),
            };
            foreach (var p in graph.Parameters) inputs[p.Name] = (parameters[p.Name], p.Dims);
            var result = train.Run(inputs, labels, asFloat: true);
            losses.Add(result[HeadGraphBuilder.Loss][0]);
            var update = new Dictionary<string, (double[], long[])> { [OptimizerGraph.LearningRate] = ([1e-3], []), [OptimizerGraph.Step] = ([step], []) };
            foreach (var p in graph.Parameters)
            {
                update[p.Name] = (parameters[p.Name], p.Dims);
                update[HeadGraphBuilder.GradientName(p.Name)] = (result[GradientGraph.GradientName(p.Name)], p.Dims);
                foreach (var s in OptimizerGraph.StateNames(settings, p.Name)) update[s] = (state[s], p.Dims);
            }
            var updated = optimizer.Run(update, asFloat: true);
            foreach (var p in graph.Parameters)
            {
                parameters[p.Name] = updated[OptimizerGraph.UpdatedName(p.Name)];
                foreach (var s in OptimizerGraph.StateNames(settings, p.Name)) state[s] = updated[OptimizerGraph.UpdatedName(s)];
            }
        }
        log.WriteLine($"losses: {string.Join(", ", losses.Select(l => l.ToString("F4")))}; {clock.Elapsed.TotalMilliseconds / losses.Count:F0} ms per step (batch {items.Count}, forward+backward+AdamW)");
        Assert.True(losses[^1] < losses[0] * 0.8, $"loss {losses[0]} → {losses[^1]}");
        // The backbone weights moved too, not only the head.
        var last = graph.Parameters[0].Name;
        Assert.True(parameters[last].Zip(graph.BackboneValues[last]).Max(t => Math.Abs(t.First - t.Second)) > 1e-5);
    }
}
