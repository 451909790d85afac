using OnnxTransfer.Onnx.Proto;

namespace OnnxTransfer.Onnx;

/// <summary>Removes the nodes, initializers and value_info that no graph output depends on.</summary>
public static class GraphPruner
{
    /// <summary>Keeps only what the graph's outputs need (graph inputs are kept, even when unused).</summary>
    public static void RemoveUnused(GraphProto graph)
    {
        var allInitializers = graph.Initializer.Select(t => t.Name).ToHashSet(StringComparer.Ordinal);
        var needed = new HashSet<string>(graph.Output.Select(o => o.Name), StringComparer.Ordinal);
        var keep = new bool[graph.Node.Count];
        for (var i = graph.Node.Count - 1; i >= 0; i--)
        {
            var node = graph.Node[i];
            if (!node.Output.Any(needed.Contains)) continue;
            keep[i] = true;
            foreach (var input in node.Input) needed.Add(input);
            foreach (var a in node.Attribute)
            {
                // Subgraphs (If/Loop/Scan) may read outer-scope tensors by name.
                if (a.G is not null) AddSubgraphReferences(a.G, needed);
                foreach (var sg in a.Graphs) AddSubgraphReferences(sg, needed);
            }
        }
        for (var i = graph.Node.Count - 1; i >= 0; i--)
            if (!keep[i]) graph.Node.RemoveAt(i);
        for (var i = graph.Initializer.Count - 1; i >= 0; i--)
            if (!needed.Contains(graph.Initializer[i].Name)) graph.Initializer.RemoveAt(i);
        // Old IR versions also list initializers as graph inputs; those go with their initializer.
        for (var i = graph.Input.Count - 1; i >= 0; i--)
            if (allInitializers.Contains(graph.Input[i].Name) && !needed.Contains(graph.Input[i].Name)) graph.Input.RemoveAt(i);
        for (var i = graph.ValueInfo.Count - 1; i >= 0; i--)
            if (!needed.Contains(graph.ValueInfo[i].Name)) graph.ValueInfo.RemoveAt(i);
    }

    private static void AddSubgraphReferences(GraphProto g, HashSet<string> needed)
    {
        foreach (var n in g.Node)
        {
            foreach (var i in n.Input) needed.Add(i);
            foreach (var a in n.Attribute)
            {
                if (a.G is not null) AddSubgraphReferences(a.G, needed);
                foreach (var sg in a.Graphs) AddSubgraphReferences(sg, needed);
            }
        }
    }
}
