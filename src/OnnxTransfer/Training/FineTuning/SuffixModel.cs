using Microsoft.ML.OnnxRuntime;
using OnnxTransfer.Backbones;
using OnnxTransfer.Onnx;

using OnnxTransfer.Runtime;

namespace OnnxTransfer.Training.FineTuning;

/// <summary>
/// The part of a cut backbone after a boundary tensor, as a runnable model: boundary activations in,
/// <see cref="BackboneCutter.FeaturesOutput"/> out. Runs the untouched suffix on cached activations (frozen
/// features without a second pass through the whole network) or a fine-tuned one
/// (<see cref="FineTuneResult.TunedBackbone"/>) to score it on cached evaluation activations.
/// </summary>
internal sealed class SuffixModel : IDisposable
{
    private readonly InferenceSession _session;
    private readonly ResourceGuard _guard = new(nameof(SuffixModel));
    private readonly long[] _boundaryShape;

    /// <summary>Builds the suffix of <paramref name="backbone"/> (a float cut backbone) from <paramref name="boundary"/> and opens a session.</summary>
    /// <param name="backbone">Cut backbone with a <see cref="BackboneCutter.FeaturesOutput"/> output.</param>
    /// <param name="boundary">The tensor the suffix starts from (e.g. <see cref="FineTuneGraph.Boundary"/>).</param>
    /// <param name="boundaryShape">Per-sample boundary shape (<see cref="FineTuner.BoundaryShape"/>).</param>
    /// <param name="sessions">Creates the suffix session (the device); null runs it on one CPU thread.</param>
    /// <exception cref="OnnxTransferException">No features output, or a node after the boundary reads a tensor from before it.</exception>
    public SuffixModel(OnnxModel backbone, string boundary, IReadOnlyList<long> boundaryShape, SessionFactory? sessions = null)
    {
        Model = Build(backbone, boundary, boundaryShape);
        Boundary = boundary;
        _boundaryShape = boundaryShape.ToArray();
        SampleSize = checked((int)_boundaryShape.Aggregate(1L, (a, d) => a * d));
        using var owned = sessions is null ? SessionFactory.ForTraining(ExecutionDevice.Cpu, 1) : null;
        _session = (sessions ?? owned!).CreateSession(Model.ToBytes());
        Dimension = checked((int)TensorShapeProbe.Infer(Model, BackboneCutter.FeaturesOutput).Shape![1].Value!.Value);
    }

    /// <summary>The suffix graph (input: the boundary; output: features).</summary>
    public OnnxModel Model { get; }

    /// <summary>The boundary tensor name (the model's input).</summary>
    public string Boundary { get; }

    /// <summary>Floats per sample at the boundary.</summary>
    public int SampleSize { get; }

    /// <summary>Feature length.</summary>
    public int Dimension { get; }

    /// <summary>Features of every sample in <paramref name="activations"/> (row-major, samples × <see cref="Dimension"/>), run in batches.</summary>
    public float[] Features(ReadOnlySpan<float> activations, int batchSize = 64)
    {
        if (activations.Length % SampleSize != 0)
            throw new ArgumentException($"{activations.Length} activations are not whole samples of {SampleSize}.", nameof(activations));
        var n = activations.Length / SampleSize;
        var result = new float[(long)n * Dimension];
        using var lease = _guard.Enter();
        using var runOptions = new RunOptions();
        for (var start = 0; start < n; start += batchSize)
        {
            var count = Math.Min(batchSize, n - start);
            var x = activations.Slice(start * SampleSize, count * SampleSize).ToArray();
            using var input = OrtValue.CreateTensorValueFromMemory(x, [count, .. _boundaryShape]);
            using var output = _session.Run(runOptions, [Boundary], [input], [BackboneCutter.FeaturesOutput]);
            output[0].GetTensorDataAsSpan<float>().CopyTo(result.AsSpan(start * Dimension, count * Dimension));
        }
        return result;
    }

    /// <summary>The backbone from <paramref name="boundary"/> (now the only graph input) to its features.</summary>
    public static OnnxModel Build(OnnxModel backbone, string boundary, IReadOnlyList<long> boundaryShape)
    {
        var name = backbone.DisplayName;
        if (backbone.Graph.Output.All(o => o.Name != BackboneCutter.FeaturesOutput))
            throw new OnnxTransferException($"{name}: no '{BackboneCutter.FeaturesOutput}' output; cut the backbone first (`onnxtransfer cut`).");
        if (!GraphEditor.Contains(backbone.Graph, boundary))
            throw new OnnxTransferException($"{name}: no tensor named '{boundary}'; check the name with `onnxtransfer inspect`.");
        var suffix = backbone.Clone();
        var graph = suffix.Graph;
        var initializers = graph.Initializer.Select(t => t.Name).ToHashSet(StringComparer.Ordinal);
        for (var i = graph.Input.Count - 1; i >= 0; i--)
            if (!initializers.Contains(graph.Input[i].Name)) graph.Input.RemoveAt(i);
        for (var k = graph.Node.Count - 1; k >= 0; k--)
            if (graph.Node[k].Output.Contains(boundary)) graph.Node.RemoveAt(k);
        graph.Input.Add(GraphBuilder.ValueInfo(boundary, Onnx.Proto.TensorProto.Types.DataType.Float, [null, .. boundaryShape], ["N"]));
        GraphEditor.SetOutputs(graph, graph.Output.First(o => o.Name == BackboneCutter.FeaturesOutput));
        GraphEditor.Prune(graph, keepInputs: true);
        var available = new HashSet<string>(graph.Input.Select(i => i.Name).Concat(initializers), StringComparer.Ordinal);
        foreach (var node in graph.Node)
        {
            foreach (var input in GraphEditor.InputsOf(node))
                if (!available.Contains(input))
                    throw new OnnxTransferException($"{name}: the layers after '{boundary}' also read '{input}' from before it (a skip connection); pick a boundary that splits the graph.");
            foreach (var o in node.Output) available.Add(o);
        }
        return suffix;
    }

    /// <inheritdoc />
    public void Dispose()
    {
        if (_guard.Close()) _session.Dispose();
    }
}
