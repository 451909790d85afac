using System.Diagnostics;
using Microsoft.ML.OnnxRuntime;
using OnnxTransfer.Backbones;
using OnnxTransfer.Imaging;
using OnnxTransfer.Onnx;
using OnnxTransfer.Onnx.Autodiff;
using OnnxTransfer.Tests.Backbones;
using OnnxTransfer.Tests.Training;
using OnnxTransfer.Training.Engine;
using OnnxTransfer.Training.FineTuning;
using OnnxTransfer.Training.Heads;
using Xunit.Abstractions;

namespace OnnxTransfer.Tests.Autodiff;

/// <summary>
/// Fine-tuning the real ResNet-18 (CNTK export from ML.NET's NuGet package): "unfreeze N" counts whole residual blocks,
/// the gradients of its last three blocks (identity skips, a stride-2 conv padded at the start only, a 1×1 downsample,
/// inference-mode BatchNormalization, the 7×7 average pool) match finite differences of the network itself, and
/// <c>fit --backbone resnet18 --unfreeze 1</c> resumes after SIGKILL to the bytes of an uninterrupted run.
/// </summary>
public class ResNet18FineTuneTests(ResNet18Fixture fixture, ITestOutputHelper log) : IClassFixture<ResNet18Fixture>
{
    private const int Classes = 2;

    private OnnxModel Cut() => BackboneCutter.Cut(OnnxModel.Load(fixture.Resolved.ModelPath), new CutOptions { At = fixture.Resolved.FeatureTensor });

    [Fact]
    public void Unfreeze_counts_whole_residual_blocks_and_the_BatchNormalizations_are_in_inference_form()
    {
        var cut = Cut();
        var features = BackboneCutter.FeaturesOutput;
        // Nothing with weights after the last join (Add → Relu → 7×7 pool): every layer sits in a block.
        Assert.True(TrainableLayers.CountsBlocks(cut, features));
        // 2 convs + 2 BNs per block; the third block back downsamples (+ 1×1 conv + BN).
        Assert.Equal([4, 8, 14], TrainableLayers.BlockBoundaries(cut, features).Take(3));
        Assert.Equal(4, TrainableLayers.LayersOfBlocks(cut, features, 1));
        Assert.Equal(14, TrainableLayers.LayersOfBlocks(cut, features, 3));
        var blocks = TrainableLayers.BlockBoundaries(cut, features).Count;
        Assert.Contains($"{blocks} residual block(s) can be unfrozen whole", Assert.Throws<OnnxTransferException>(() => TrainableLayers.LayersOfBlocks(cut, features, blocks + 1)).Message);
        // A layer count inside a block is where the skip connection jumps over the boundary.
        Assert.Contains("skip connection", Assert.Throws<OnnxTransferException>(() => FineTuneGraphBuilder.Build(cut, HeadSpec.Linear, HeadTask.MultiClass, Classes, 3)).Message);

        // The export keeps BatchNormalization separate, in inference form: one output, running statistics as initializers.
        var initializers = cut.Graph.Initializer.Select(t => t.Name).ToHashSet(StringComparer.Ordinal);
        var norms = cut.Graph.Node.Where(n => n.OpType == "BatchNormalization").ToList();
        Assert.Equal(cut.Graph.Node.Count(n => n.OpType == "Conv"), norms.Count);
        Assert.All(norms, n =>
        {
            Assert.Single(n.Output);
            Assert.Equal(0, OnnxAttribute.GetInt(n, "training_mode", 0));
            Assert.Contains(n.Input[3], initializers);
            Assert.Contains(n.Input[4], initializers);
        });
        // The convs carry no bias (the BN's β is the bias), so each block trains conv weights and BN scale and bias.
        var graph = FineTuneGraphBuilder.Build(cut, HeadSpec.Linear, HeadTask.MultiClass, Classes, 4);
        Assert.Equal(["BatchNormalization", "Conv", "BatchNormalization", "Conv"], graph.Layers.Select(l => l.Node.OpType));
        Assert.Equal(6, graph.BackboneValues.Count);
        Assert.Equal("Relu", cut.Graph.Node.Single(n => n.Output.Contains(graph.Boundary)).OpType);
    }

    [Fact]
    public void Gradients_of_the_last_three_blocks_match_finite_differences_of_the_real_network()
    {
        var cut = Cut();
        var graph = FineTuneGraphBuilder.Build(cut, HeadSpec.Linear, HeadTask.MultiClass, Classes, TrainableLayers.LayersOfBlocks(cut, BackboneCutter.FeaturesOutput, 3));
        var forward = graph.Training.Graph.Node.Select(n => n.OpType).ToHashSet(StringComparer.Ordinal);
        log.WriteLine($"boundary {graph.Boundary}; {graph.BackboneValues.Count} backbone tensors; training graph ops: {string.Join(", ", forward.Order(StringComparer.Ordinal))}");
        Assert.Contains("AveragePool", forward);
        Assert.Contains(graph.Layers, l => l.Node.OpType == "Conv" && OnnxAttribute.GetInts(l.Node, "pads", []) is [1, 1, 0, 0]);

        var encoder = new ImageEncoder(fixture.Resolved.Preprocessing);
        var images = new[] { "dog.jpg", "cat.jpg" }.SelectMany(p => encoder.Encode(SharedAssets.Photo(p))).ToArray();
        var shape = FineTuner.BoundaryShape(graph);
        var boundary = RunPrefix(graph.Prefix, images, graph.Boundary);
        var rng = new Random(11);
        var inputs = new Dictionary<string, (double[], long[])>
        {
            [graph.Boundary] = (boundary.Select(v => (double)v).ToArray(), [2, .. shape]),
            [HeadGraphBuilder.Weights] = ([1.0, 1.0], [2]),
        };
        var labels = new Dictionary<string, (long[], long[])> { [HeadGraphBuilder.Labels] = ([0, 1], [2]) };
        foreach (var p in graph.Parameters)
            inputs[p.Name] = (graph.BackboneValues.TryGetValue(p.Name, out var v) ? v.Select(x => (double)x).ToArray()
                : Enumerable.Range(0, p.Count).Select(_ => (rng.NextDouble() - 0.5) * 0.1).ToArray(), p.Dims);
        using var runner = new GraphRunner(graph.Training);
        var result = runner.Run(inputs, labels, asFloat: true);
        log.WriteLine($"loss {result[HeadGraphBuilder.Loss][0]:F5}");

        var checks = 0;
        foreach (var name in graph.BackboneValues.Keys)
        {
            var (values, dims) = inputs[name];
            var grad = result[GradientGraph.GradientName(name)];
            Assert.True(grad.Any(g => g != 0), $"{name}: zero gradient");
            // Along the gradient (the largest directional derivative, well above float32 noise), and along the gradient
            // restricted to a random half of the entries (an error orthogonal to the gradient shows there).
            var half = grad.Select(_ => rng.Next(2)).ToArray();
            foreach (var direction in new[] { grad, grad.Select((g, i) => g * half[i]).ToArray() })
            {
                // A step of 1e-3 of the weights' largest magnitude: small against them, large against float32 rounding.
                var step = 1e-3 * values.Max(Math.Abs) / direction.Max(Math.Abs);
                double LossAt(double h) => runner.Run(new Dictionary<string, (double[], long[])>(inputs)
                    { [name] = (values.Select((v, i) => v + h * direction[i]).ToArray(), dims) }, labels, asFloat: true)[HeadGraphBuilder.Loss][0];
                var numeric = (LossAt(step) - LossAt(-step)) / (2 * step);
                var analytic = grad.Select((g, i) => g * direction[i]).Sum();
                log.WriteLine($"{name} [{string.Join("x", dims)}]: analytic {analytic:E4}, numeric {numeric:E4}");
                Assert.True(Math.Abs(numeric - analytic) <= 2e-2 * (Math.Abs(numeric) + Math.Abs(analytic)), $"{name}: analytic {analytic} vs numeric {numeric}");
                checks++;
            }
        }
        Assert.Equal(2 * 21, checks);  // 7 convs, 7 BNs (scale, bias)
    }

    private static float[] RunPrefix(OnnxModel prefix, float[] images, string output)
    {
        using var session = new InferenceSession(prefix.ToBytes());
        using var input = OrtValue.CreateTensorValueFromMemory(images, [images.Length / (3 * 224 * 224), 3, 224, 224]);
        using var runOptions = new RunOptions();
        using var results = session.Run(runOptions, [session.InputNames[0]], [input], [output]);
        return results[0].GetTensorDataAsSpan<float>().ToArray();
    }

    [Fact]
    public async Task Fit_with_the_last_block_unfrozen_resumes_after_SIGKILL_to_the_bytes_of_an_uninterrupted_run()
    {
        using var dir = new TempDir();
        var data = SharedAssets.SmallHymenoptera(dir, train: 6, val: 2);
        var cache = dir.File("cache");
        string[] Fit(string model) => ["fit", "--backbone", "resnet18", "--data", data, "--out", model, "--unfreeze", "1", "--epochs", "5", "--threads", "1"];

        var clock = Stopwatch.StartNew();
        var straight = dir.File("straight/m.onnx");
        var first = await RunCliAsync(cache, Fit(straight));
        Assert.True(first.Code == 0, first.Error);
        Assert.Contains("unfreeze: last 1 residual block(s), 4 layers", first.Error);
        log.WriteLine($"uninterrupted fit: {clock.Elapsed.TotalSeconds:F1} s");

        // The same command, killed once its checkpoint holds two of the five epochs (gradual: mid-way through the stages).
        var resumed = dir.File("resumed/m.onnx");
        var checkpoint = dir.File("resumed/m.checkpoint-4.bin");
        var killed = await RunCliAsync(cache, Fit(resumed), killWhen: () => EpochsIn(checkpoint) >= 2);
        Assert.True(killed.Code == 137, $"exit {killed.Code}: {killed.Error}");
        Assert.False(File.Exists(resumed));
        Assert.InRange(TrainingCheckpoint.Load(checkpoint).Epoch, 2, 4);

        var second = await RunCliAsync(cache, Fit(resumed));
        Assert.True(second.Code == 0, second.Error);
        Assert.False(File.Exists(checkpoint));
        Assert.Equal(File.ReadAllBytes(straight), File.ReadAllBytes(resumed));
        // Not vacuous: the exported backbone's last block moved away from the pretrained weights.
        var unfrozen = OnnxModel.Load(resumed).Metadata[FineTuner.UnfrozenMetadataKey];
        log.WriteLine(unfrozen);
        Assert.Contains("last 4 layer(s)", unfrozen);
        var tuned = OnnxModel.Load(resumed).Graph.Initializer.ToDictionary(t => t.Name, StringComparer.Ordinal);
        var pretrained = Cut().Graph.Initializer.ToDictionary(t => t.Name, StringComparer.Ordinal);
        var layers = FineTuneGraphBuilder.Build(Cut(), HeadSpec.Linear, HeadTask.MultiClass, Classes, 4).Layers;
        Assert.Contains(layers.SelectMany(l => l.Parameters), p => !OnnxTensor.ToFloats(pretrained[p]).SequenceEqual(OnnxTensor.ToFloats(tuned[p])));
    }

    /// <summary>Epochs saved in a checkpoint; 0 while there is none (or it was just removed at the end of the run).</summary>
    private static int EpochsIn(string checkpoint)
    {
        try { return File.Exists(checkpoint) ? TrainingCheckpoint.Load(checkpoint).Epoch : 0; }
        catch (Exception e) when (e is IOException or OnnxTransferException) { return 0; }
    }

    private sealed record CliRun(int Code, string Error);

    /// <summary>Runs the CLI as a child process (backbones from the shared mirror, offline); SIGKILLs it once <paramref name="killWhen"/> holds.</summary>
    private static async Task<CliRun> RunCliAsync(string cache, string[] args, Func<bool>? killWhen = null)
    {
        using var child = Process.Start(OnnxTransfer.Tests.Cli.CliProcess.StartInfo(cache, args))!;
        var stdout = child.StandardOutput.ReadToEndAsync();
        var stderr = child.StandardError.ReadToEndAsync();
        using var guard = new CancellationTokenSource(TimeSpan.FromMinutes(5));
        try
        {
            while (!child.HasExited)
            {
                if (killWhen?.Invoke() == true)
                {
                    child.Kill();  // SIGKILL
                    break;
                }
                await Task.Delay(20, guard.Token);
            }
            await child.WaitForExitAsync(guard.Token);
        }
        finally { if (!child.HasExited) child.Kill(entireProcessTree: true); }
        await stdout;
        return new CliRun(child.ExitCode, await stderr);
    }
}
