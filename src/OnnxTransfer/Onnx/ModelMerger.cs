using OnnxTransfer.Onnx.Proto;

namespace OnnxTransfer.Onnx;

/// <summary>
/// Chains two ONNX models into one graph: <c>first</c>'s tensor <c>firstOutput</c> feeds <c>second</c>'s input
/// <c>secondInput</c>. Used to put a trained head on a cut backbone, and a preprocessing graph in front of a
/// model. The result keeps <c>first</c>'s inputs and <c>second</c>'s outputs (names unchanged); every other
/// name from <c>second</c> is made unique. Both parts are raised to one common opset first.
/// </summary>
internal static class ModelMerger
{
    /// <summary>Returns a new model; neither argument is modified.</summary>
    public static OnnxModel Merge(OnnxModel first, string firstOutput, OnnxModel second, string secondInput, string prefix = "")
    {
        var a = first.Clone();
        var b = second.Clone();
        var opset = Math.Max(Math.Max(a.OpsetVersion(), b.OpsetVersion()), 1);
        OpsetUpgrader.Upgrade(a, opset);
        OpsetUpgrader.Upgrade(b, opset);
        if (!Produces(a.Graph, firstOutput))
            throw new OnnxFormatException($"{first.DisplayName}: no tensor named '{firstOutput}' to connect from.");
        if (b.Graph.Input.All(i => i.Name != secondInput))
            throw new OnnxFormatException($"{second.DisplayName}: no graph input named '{secondInput}' to connect to (inputs: {string.Join(", ", b.Graph.Input.Select(i => i.Name))}).");

        var builder = new GraphBuilder(a.Graph, prefix);
        var rename = new Dictionary<string, string>(StringComparer.Ordinal) { [secondInput] = firstOutput, [""] = "" };
        var initializerNames = b.Graph.Initializer.Select(t => t.Name).ToHashSet(StringComparer.Ordinal);
        var keptOutputs = b.Graph.Output.Select(o => o.Name).ToHashSet(StringComparer.Ordinal);
        foreach (var output in keptOutputs)
        {
            // A first-model output of the same name stops being an output, so it can be renamed away.
            if (builder.IsNameTaken(output) && a.Graph.Output.Any(o => o.Name == output) && output != firstOutput)
                throw new OnnxFormatException($"both models define an output named '{output}'; rename one before merging.");
            rename[output] = builder.IsNameTaken(output) ? throw new OnnxFormatException($"{first.DisplayName} already uses the name '{output}', which {second.DisplayName} needs for an output.") : builder.ReserveName(output);
        }
        string Map(string name)
        {
            if (!rename.TryGetValue(name, out var mapped))
                rename[name] = mapped = builder.UniqueName(name);
            return mapped;
        }

        foreach (var t in b.Graph.Initializer) { t.Name = Map(t.Name); a.Graph.Initializer.Add(t); }
        foreach (var input in b.Graph.Input)
        {
            if (input.Name == secondInput || initializerNames.Contains(input.Name)) continue;
            input.Name = Map(input.Name);
            a.Graph.Input.Add(input); // extra inputs of the second model stay inputs of the result
        }
        foreach (var node in b.Graph.Node)
        {
            for (var i = 0; i < node.Input.Count; i++) node.Input[i] = Map(node.Input[i]);
            for (var i = 0; i < node.Output.Count; i++) node.Output[i] = Map(node.Output[i]);
            node.Name = builder.UniqueName(node.Name.Length > 0 ? node.Name : node.OpType);
            a.Graph.Node.Add(node);
        }
        foreach (var vi in b.Graph.ValueInfo) { vi.Name = Map(vi.Name); a.Graph.ValueInfo.Add(vi); }

        a.Graph.Output.Clear();
        foreach (var o in b.Graph.Output) { o.Name = rename[o.Name]; a.Graph.Output.Add(o); }
        foreach (var import in b.Proto.OpsetImport)
            if (a.OpsetVersion(import.Domain) == 0) a.Proto.OpsetImport.Add(import.Clone());
        foreach (var kv in b.Metadata) a.SetMetadata(kv.Key, kv.Value);
        GraphEditor.Prune(a.Graph, keepInputs: true);
        return a;
    }

    private static bool Produces(GraphProto graph, string name) =>
        graph.Input.Any(i => i.Name == name) || graph.Node.Any(n => n.Output.Contains(name)) || graph.Initializer.Any(t => t.Name == name);
}
