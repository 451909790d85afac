using OnnxTransfer.Backbones;
using OnnxTransfer.Onnx;
using OnnxTransfer.Onnx.Proto;
using OnnxTransfer.Onnx.Autodiff;
using OnnxTransfer.Training.Engine;
using OnnxTransfer.Training.Heads;
using DataType = OnnxTransfer.Onnx.Proto.TensorProto.Types.DataType;

namespace OnnxTransfer.Training.FineTuning;

/// <summary>
/// The graphs for fine-tuning the last layers of a backbone together with a new head.
/// </summary>
/// <param name="Prefix">The frozen part: the backbone's input → <see cref="Boundary"/>. Its output can be computed once per
/// sample and cached, since nothing before the boundary trains.</param>
/// <param name="Training">Inputs <see cref="Boundary"/>, the head's labels/weights (and dropout masks), every parameter in
/// <see cref="Parameters"/>; outputs <c>loss</c>, <c>logits</c> and <c>grad.NAME</c> per parameter — what
/// <see cref="OptimizerGraph"/> consumes.</param>
/// <param name="Boundary">The tensor where the frozen prefix ends (Prefix's output, Training's input).</param>
/// <param name="Parameters">Unfrozen backbone weights first, then the head's, in the form <see cref="OptimizerGraph.Build"/> takes.</param>
/// <param name="BackboneValues">Starting values of the unfrozen backbone weights (float32).</param>
internal sealed record FineTuneGraph(OnnxModel Prefix, OnnxModel Training, string Boundary,
    IReadOnlyList<HeadParameter> Parameters, IReadOnlyDictionary<string, float[]> BackboneValues)
{
    /// <summary>The unfrozen layers, nearest the features first (the order gradual unfreezing releases them in).</summary>
    public IReadOnlyList<TrainableLayer> Layers { get; init; } = [];
}

/// <summary>
/// Builds <see cref="FineTuneGraph"/>s. The backbone is a float feature extractor whose output is
/// <see cref="BackboneCutter.FeaturesOutput"/> [N,D] (a cut, dequantized first when it was quantized). The last
/// <c>unfreeze</c> layers with weights before the features train; the frozen prefix ends at the data input of the
/// earliest of them. The suffix (boundary → features) and the head's forward and loss (from
/// <see cref="HeadGraphBuilder.BuildTraining"/>, its hand-written backward pruned away) become one graph, which
/// <see cref="GraphGradientBuilder"/> differentiates as a whole: head and backbone gradients come from the same
/// generic rules (the head's own backward is its independent check in the tests).
/// </summary>
internal static class FineTuneGraphBuilder
{
    /// <summary>Builds the prefix and training graphs (float32).</summary>
    /// <exception cref="OnnxTransferException">The backbone has no features output, the boundary does not split the graph
    /// (a skip connection jumps over it), or an op on the trainable path has no gradient rule.</exception>
    public static FineTuneGraph Build(OnnxModel backbone, HeadSpec spec, HeadTask task, int classes, int unfreeze, double labelSmoothing = 0)
    {
        var name = backbone.DisplayName;
        var features = BackboneCutter.FeaturesOutput;
        if (backbone.Graph.Output.All(o => o.Name != features))
            throw new OnnxTransferException($"{name}: no '{features}' output; cut the backbone first (`onnxtransfer cut`).");
        if (Dequantizer.IsQuantized(backbone))
            throw new OnnxTransferException($"{name}: the backbone is quantized; dequantize it first (`onnxtransfer dequantize`).");
        var info = TensorShapeProbe.Infer(backbone, features);
        var dim = info.Rank == 2 && info.Shape![1].Value is { } d ? (int)d
            : throw new OnnxTransferException($"{name}: features are {info.ShapeText}, expected [N,D].");

        var layers = TrainableLayers.Last(backbone, features, unfreeze);
        var boundary = layers[^1].Node.Input[0];
        var boundaryInfo = TensorShapeProbe.Infer(backbone, boundary);
        var initializers = backbone.Graph.Initializer.ToDictionary(t => t.Name, StringComparer.Ordinal);
        if (initializers.ContainsKey(boundary))
            throw new OnnxTransferException($"{name}: layer '{layers[^1].Node.Name}' reads a constant as its data input; unfreeze a different number of layers.");

        var prefix = backbone.Clone();
        GraphEditor.SetOutputs(prefix.Graph, boundaryInfo.ToValueInfo());
        GraphEditor.Prune(prefix.Graph);

        var suffix = Suffix(backbone, boundary, boundaryInfo, name);
        var head = HeadGraphBuilder.BuildTraining(spec, task, dim, classes, labelSmoothing);
        GraphEditor.SetOutputs(head.Graph, head.Graph.Output.Where(o => o.Name is HeadGraphBuilder.Loss or HeadGraphBuilder.Logits).ToArray());
        GraphEditor.Prune(head.Graph);
        Append(suffix.Graph, head.Graph, features);

        var backboneParameters = layers.SelectMany(l => l.Parameters).Distinct().ToList();
        var headParameters = HeadGraphBuilder.Parameters(spec, task, dim, classes);
        var all = backboneParameters.Concat(headParameters.Select(p => p.Name)).ToList();
        var training = GraphGradientBuilder.Build(suffix, HeadGraphBuilder.Loss, all, parametersAsInputs: true).Model;

        var parameters = backboneParameters
            .Select(p => new HeadParameter(p, initializers[p].Dims.Select(v => (int)v).ToArray(), ParameterInit.Zeros, Decay: initializers[p].Dims.Count > 1))
            .Concat(headParameters).ToList();
        var values = backboneParameters.ToDictionary(p => p, p => OnnxTensor.ToFloats(initializers[p]), StringComparer.Ordinal);
        return new FineTuneGraph(prefix, training, boundary, parameters, values) { Layers = layers };
    }

    /// <summary>
    /// A copy of <paramref name="backbone"/> carrying fine-tuned weights (initializers replaced by name), ready to
    /// merge with the trained head for export like any cut backbone.
    /// </summary>
    /// <exception cref="OnnxTransferException">A name is not a float32 initializer of the backbone or its size differs.</exception>
    public static OnnxModel WithWeights(OnnxModel backbone, IReadOnlyDictionary<string, float[]> weights)
    {
        var copy = backbone.Clone();
        var initializers = copy.Graph.Initializer;
        foreach (var (name, values) in weights)
        {
            var index = Enumerable.Range(0, initializers.Count).FirstOrDefault(i => initializers[i].Name == name, -1);
            if (index < 0 || (DataType)initializers[index].DataType != DataType.Float || OnnxTensor.ElementCount(initializers[index].Dims) != values.Length)
                throw new OnnxTransferException($"{backbone.DisplayName}: '{name}' is not a float32 initializer of {values.Length} values; the weights belong to another backbone.");
            initializers[index] = OnnxTensor.FromFloats(name, values, initializers[index].Dims.ToArray());
        }
        return copy;
    }

    /// <summary>The backbone from <paramref name="boundary"/> (now a graph input) to its features.</summary>
    private static OnnxModel Suffix(OnnxModel backbone, string boundary, TensorInfo boundaryInfo, string name)
    {
        var suffix = backbone.Clone();
        var graph = suffix.Graph;
        var initializerNames = graph.Initializer.Select(t => t.Name).ToHashSet(StringComparer.Ordinal);
        for (var i = graph.Input.Count - 1; i >= 0; i--)
            if (!initializerNames.Contains(graph.Input[i].Name)) graph.Input.RemoveAt(i);
        for (var k = graph.Node.Count - 1; k >= 0; k--)
            if (graph.Node[k].Output.Contains(boundary)) graph.Node.RemoveAt(k);
        graph.Input.Add(boundaryInfo.ToValueInfo());
        GraphEditor.Prune(graph, keepInputs: true);
        var available = new HashSet<string>(graph.Input.Select(i => i.Name).Concat(initializerNames), StringComparer.Ordinal);
        foreach (var node in graph.Node)
        {
            foreach (var input in GraphEditor.InputsOf(node))
                if (!available.Contains(input))
                    throw new OnnxTransferException($"{name}: the trainable layers also read '{input}' from before '{boundary}' (a skip connection); unfreeze more or fewer layers so the boundary splits the graph.");
            foreach (var o in node.Output) available.Add(o);
        }
        return suffix;
    }

    /// <summary>Adds the head's nodes after the suffix; its <c>features</c> input is the suffix's output, other clashing names are renamed.</summary>
    private static void Append(GraphProto target, GraphProto head, string features)
    {
        var taken = new GraphBuilder(target);
        var headNames = head.Node.SelectMany(n => n.Output).Concat(head.Initializer.Select(t => t.Name))
            .Concat(head.Input.Select(i => i.Name)).Where(n => n != features).Distinct().ToList();
        var clashes = headNames.Where(taken.IsNameTaken).ToList();
        foreach (var n in headNames.Except(clashes)) taken.ReserveName(n);
        foreach (var n in clashes) GraphEditor.RenameTensor(head, n, taken.UniqueName("head/" + n));
        foreach (var node in head.Node) node.Name = taken.UniqueName("head/" + node.Name);
        target.Node.AddRange(head.Node);
        target.Initializer.AddRange(head.Initializer);
        target.Input.AddRange(head.Input.Where(i => i.Name != features));
        GraphEditor.SetOutputs(target, head.Output.ToArray());
    }
}
