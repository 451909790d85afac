using OnnxTransfer.Onnx.Proto;

namespace OnnxTransfer.Onnx;

/// <summary>
/// Structural edits on a <see cref="GraphProto"/>: who produces and consumes a tensor, exposing an
/// intermediate tensor as a graph output, replacing the outputs, renaming a tensor, and pruning the graph
/// to what its outputs need. New nodes are never made here; callers add them through <see cref="GraphBuilder"/>.
/// </summary>
internal static class GraphEditor
{
    /// <summary>Maps each node output to the node that produces it.</summary>
    public static Dictionary<string, NodeProto> Producers(GraphProto graph)
    {
        var producers = new Dictionary<string, NodeProto>(StringComparer.Ordinal);
        foreach (var node in graph.Node)
            foreach (var o in node.Output)
                if (o.Length > 0) producers[o] = node;
        return producers;
    }

    /// <summary>Maps each tensor to the nodes that read it (including reads from inside subgraphs).</summary>
    public static Dictionary<string, List<NodeProto>> Consumers(GraphProto graph)
    {
        var consumers = new Dictionary<string, List<NodeProto>>(StringComparer.Ordinal);
        foreach (var node in graph.Node)
            foreach (var i in InputsOf(node).Distinct())
            {
                if (!consumers.TryGetValue(i, out var list)) consumers[i] = list = [];
                list.Add(node);
            }
        return consumers;
    }

    /// <summary>True when <paramref name="tensor"/> is a graph input, an initializer or a node output.</summary>
    public static bool Contains(GraphProto graph, string tensor) =>
        tensor.Length > 0 && (graph.Input.Any(i => i.Name == tensor) || graph.Initializer.Any(t => t.Name == tensor) ||
                              graph.Node.Any(n => n.Output.Contains(tensor)));

    /// <summary>
    /// The names a node reads: its inputs plus every name its subgraphs (If/Loop/Scan bodies) read, since
    /// those may be outer-scope tensors. Empty (omitted optional) inputs are skipped.
    /// </summary>
    public static IEnumerable<string> InputsOf(NodeProto node)
    {
        foreach (var i in node.Input)
            if (i.Length > 0) yield return i;
        foreach (var a in node.Attribute)
        {
            if (a.G is not null)
                foreach (var n in a.G.Node.SelectMany(InputsOf)) yield return n;
            foreach (var g in a.Graphs)
                foreach (var n in g.Node.SelectMany(InputsOf)) yield return n;
        }
    }

    /// <summary>
    /// The declared type and shape of <paramref name="tensor"/> (graph input/output, value_info or
    /// initializer), or null when the graph does not declare one.
    /// </summary>
    public static TensorInfo? DeclaredInfo(GraphProto graph, string tensor)
    {
        foreach (var list in new[] { graph.Input, graph.Output, graph.ValueInfo })
            foreach (var v in list)
                if (v.Name == tensor && v.Type?.TensorType is not null) return TensorInfo.FromValueInfo(v);
        foreach (var t in graph.Initializer)
            if (t.Name == tensor) return TensorInfo.FromInitializer(t);
        return null;
    }

    /// <summary>
    /// Adds <paramref name="tensor"/> as an extra graph output (no-op when it already is one), typed with
    /// <paramref name="info"/> or, failing that, with what value_info declares; otherwise untyped, which
    /// ONNX Runtime accepts and infers.
    /// </summary>
    public static void ExposeOutput(GraphProto graph, string tensor, TensorInfo? info = null)
    {
        if (!Contains(graph, tensor))
            throw new OnnxFormatException($"graph '{graph.Name}': no tensor named '{tensor}' to expose as an output; check the name with `onnxtransfer inspect`.");
        if (graph.Output.Any(o => o.Name == tensor)) return;
        info ??= DeclaredInfo(graph, tensor);
        graph.Output.Add(info is null ? new ValueInfoProto { Name = tensor } : info.ToValueInfo(tensor));
    }

    /// <summary>Replaces the graph outputs with <paramref name="outputs"/> (each must name an existing tensor).</summary>
    public static void SetOutputs(GraphProto graph, params ValueInfoProto[] outputs)
    {
        foreach (var o in outputs)
            if (!Contains(graph, o.Name))
                throw new OnnxFormatException($"graph '{graph.Name}': output '{o.Name}' is not produced by any node, input or initializer.");
        graph.Output.Clear();
        graph.Output.AddRange(outputs);
    }

    /// <summary>
    /// Keeps only the nodes the graph outputs depend on, then drops initializers, inputs, value_info and
    /// quantization annotations that nothing uses any more. Node order (topological) is preserved.
    /// </summary>
    /// <param name="graph">The graph, edited in place.</param>
    /// <param name="keepInputs">Keep every real graph input even when unused (the model's interface stays as it was).</param>
    public static void Prune(GraphProto graph, bool keepInputs = false)
    {
        var needed = new HashSet<string>(graph.Output.Select(o => o.Name), StringComparer.Ordinal);
        var keep = new bool[graph.Node.Count];
        for (var k = graph.Node.Count - 1; k >= 0; k--)
        {
            var node = graph.Node[k];
            if (!node.Output.Any(needed.Contains)) continue;
            keep[k] = true;
            foreach (var i in InputsOf(node)) needed.Add(i);
        }
        var nodes = graph.Node.Where((_, k) => keep[k]).ToList();
        graph.Node.Clear();
        graph.Node.AddRange(nodes);

        var produced = new HashSet<string>(nodes.SelectMany(n => n.Output), StringComparer.Ordinal);
        var initializers = new HashSet<string>(graph.Initializer.Select(t => t.Name), StringComparer.Ordinal);
        RemoveWhere(graph.Initializer, t => !needed.Contains(t.Name));
        // Old IR versions list initializers as inputs too; those go with their initializer either way.
        RemoveWhere(graph.Input, i => !needed.Contains(i.Name) && (!keepInputs || initializers.Contains(i.Name)));
        RemoveWhere(graph.ValueInfo, v => !produced.Contains(v.Name) && !needed.Contains(v.Name));
        var present = new HashSet<string>(produced.Concat(graph.Initializer.Select(t => t.Name)).Concat(graph.Input.Select(i => i.Name)), StringComparer.Ordinal);
        RemoveWhere(graph.QuantizationAnnotation, a => !present.Contains(a.TensorName) || a.QuantParameterTensorNames.Any(p => !present.Contains(p.Value)));
    }

    /// <summary>
    /// Renames tensor <paramref name="from"/> to <paramref name="to"/> everywhere in the graph (node inputs and
    /// outputs, graph inputs/outputs, initializers, value_info, subgraph reads).
    /// </summary>
    public static void RenameTensor(GraphProto graph, string from, string to)
    {
        if (from == to) return;
        if (Contains(graph, to))
            throw new InvalidOperationException($"graph '{graph.Name}': cannot rename '{from}' to '{to}', which is already used.");
        RenameIn(graph, from, to);
    }

    private static void RenameIn(GraphProto graph, string from, string to)
    {
        foreach (var node in graph.Node)
        {
            for (var i = 0; i < node.Input.Count; i++) if (node.Input[i] == from) node.Input[i] = to;
            for (var i = 0; i < node.Output.Count; i++) if (node.Output[i] == from) node.Output[i] = to;
            foreach (var a in node.Attribute)
            {
                if (a.G is not null) RenameIn(a.G, from, to);
                foreach (var g in a.Graphs) RenameIn(g, from, to);
            }
        }
        foreach (var v in graph.Input.Concat(graph.Output).Concat(graph.ValueInfo))
            if (v.Name == from) v.Name = to;
        foreach (var t in graph.Initializer)
            if (t.Name == from) t.Name = to;
        foreach (var a in graph.QuantizationAnnotation)
            if (a.TensorName == from) a.TensorName = to;
    }

    private static void RemoveWhere<T>(Google.Protobuf.Collections.RepeatedField<T> list, Func<T, bool> drop)
    {
        for (var i = list.Count - 1; i >= 0; i--)
            if (drop(list[i])) list.RemoveAt(i);
    }
}
