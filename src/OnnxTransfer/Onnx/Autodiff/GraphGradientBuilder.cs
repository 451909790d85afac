using OnnxTransfer.Onnx;
using OnnxTransfer.Onnx.Proto;
using DataType = OnnxTransfer.Onnx.Proto.TensorProto.Types.DataType;

namespace OnnxTransfer.Onnx.Autodiff;

/// <summary>
/// Reverse-mode differentiation of a whole ONNX graph, emitted as standard ai.onnx (opset 17) nodes.
/// Given a float model, a loss tensor and the parameters (initializers or graph inputs) to differentiate,
/// it walks the nodes that lie on a path from a parameter to the loss in reverse order and asks each op's
/// rule (<see cref="GradientRules"/>, one per op type, like micrograd's <c>_backward</c>) for the gradients
/// of its inputs; a tensor read by several nodes gets the Sum of their contributions. Shapes the rules
/// need (broadcast axes, convolution output padding) come from <see cref="TensorShapeProbe"/> at build
/// time; the batch dimension may stay symbolic.
/// </summary>
internal static class GraphGradientBuilder
{
    /// <summary>The op types that have a gradient rule (ai.onnx domain).</summary>
    public static IReadOnlyCollection<string> SupportedOps => (IReadOnlyCollection<string>)GradientRules.Table.Keys;

    /// <summary>Builds forward + backward for <paramref name="loss"/> with respect to <paramref name="parameters"/>.</summary>
    /// <param name="forward">The float model (float32 or float64); not changed.</param>
    /// <param name="loss">The loss tensor; a non-scalar loss is differentiated as the sum of its elements.</param>
    /// <param name="parameters">Initializers or graph inputs to differentiate with respect to.</param>
    /// <param name="parametersAsInputs">Turn initializer parameters into graph inputs (so an optimizer can feed updated values).</param>
    /// <exception cref="OnnxTransferException">A name is unknown, a parameter is not float, or an op on the path has no gradient rule.</exception>
    public static GradientGraph Build(OnnxModel forward, string loss, IEnumerable<string> parameters, bool parametersAsInputs = false)
    {
        var model = forward.Clone();
        OpsetUpgrader.Upgrade(model);
        var graph = model.Graph;
        var name = forward.DisplayName;
        var wrt = parameters.Distinct().ToList();
        if (wrt.Count == 0) throw new OnnxTransferException($"{name}: no parameters to differentiate; name at least one initializer or input.");
        if (!GraphEditor.Contains(graph, loss))
            throw new OnnxTransferException($"{name}: no tensor named '{loss}' to use as the loss; check the name with `onnxtransfer inspect`.");
        var initializers = graph.Initializer.ToDictionary(t => t.Name, StringComparer.Ordinal);
        foreach (var p in wrt)
            if (!initializers.ContainsKey(p) && graph.Input.All(i => i.Name != p))
                throw new OnnxTransferException($"{name}: parameter '{p}' is neither an initializer nor a graph input; name a weight tensor (see `onnxtransfer inspect`).");

        // Nodes reachable from a parameter, then (once types are known) those on a path to the loss.
        var reached = new HashSet<string>(wrt, StringComparer.Ordinal);
        foreach (var node in graph.Node)
            if (node.Input.Any(reached.Contains))
                foreach (var o in node.Output.Where(o => o.Length > 0)) reached.Add(o);
        var touched = graph.Node.Where(n => n.Input.Any(reached.Contains))
            .SelectMany(n => n.Input.Concat(n.Output)).Where(t => t.Length > 0).Append(loss).Concat(wrt);
        var shapes = new Dictionary<string, TensorInfo>(TensorShapeProbe.Infer(model, touched), StringComparer.Ordinal);

        var elementType = shapes[loss].ElementType;
        if (elementType is not (DataType.Float or DataType.Double))
            throw new OnnxTransferException($"{name}: loss '{loss}' is {shapes[loss].ElementTypeName}; differentiate a float32 or float64 loss.");
        foreach (var p in wrt)
            if (shapes[p].ElementType != elementType)
                throw new OnnxTransferException($"{name}: parameter '{p}' is {shapes[p].ElementTypeName} but the loss is {TensorInfo.TypeName(elementType)}; dequantize the model first (`onnxtransfer dequantize`).");

        bool IsFloat(string t) => shapes.TryGetValue(t, out var i) && i.ElementType == elementType;
        reached = new HashSet<string>(wrt, StringComparer.Ordinal);
        foreach (var node in graph.Node)
            if (node.Input.Any(reached.Contains))
                foreach (var o in node.Output.Where(o => o.Length > 0 && IsFloat(o))) reached.Add(o);
        var toLoss = new HashSet<string>(StringComparer.Ordinal) { loss };
        var active = new List<NodeProto>();
        for (var k = graph.Node.Count - 1; k >= 0; k--)
        {
            var node = graph.Node[k];
            if (!node.Output.Any(o => reached.Contains(o) && toLoss.Contains(o))) continue;
            active.Add(node);
            foreach (var i in node.Input.Where(reached.Contains)) toLoss.Add(i);
        }

        var g = new GraphBuilder(graph, "grad/");
        var e = new OpEmitter(g, elementType);
        var context = new GradientContext(g, e, shapes, name, initializers);
        context.Seed(loss, shapes[loss].Rank == 0 ? e.Const(1) : context.OnesLike(loss));
        foreach (var node in active)
        {
            if (!GradientRules.Table.TryGetValue(node.OpType, out var rule) || node.Domain is not ("" or "ai.onnx"))
                throw new OnnxTransferException($"{name}: no gradient rule for op {node.OpType} (node '{node.Name}'); freeze the layers up to it or replace the op.");
            context.Begin(node, i => toLoss.Contains(node.Input[i]) && reached.Contains(node.Input[i]));
            rule(context);
        }

        if (graph.Output.All(o => o.Name != loss)) GraphEditor.ExposeOutput(graph, loss, shapes[loss]);
        foreach (var p in wrt)
        {
            var grad = context.GradientOf(p) ?? context.ZerosLike(p);
            var output = GradientGraph.GradientName(p);
            g.Alias(grad, output);
            g.Output(output, elementType, shapes[p].Shape!.Select(d => d.Value).ToArray());
            if (parametersAsInputs && initializers.TryGetValue(p, out var init))
            {
                graph.Initializer.Remove(init);
                // Old IR versions also list initializers as inputs; declare each input once.
                if (graph.Input.All(i => i.Name != p)) graph.Input.Add(TensorInfo.FromInitializer(init).ToValueInfo());
            }
        }
        return new GradientGraph(model, loss, wrt);
    }
}
