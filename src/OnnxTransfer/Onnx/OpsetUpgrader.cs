using OnnxTransfer.Onnx.Proto;

namespace OnnxTransfer.Onnx;

/// <summary>
/// Raises a model's ai.onnx opset in place (e.g. an opset-7 zoo model to 17), rewriting the operators whose
/// signature changed on the way: attributes that became inputs (Clip, Pad, Squeeze, Unsqueeze, Split,
/// ReduceSum, Dropout, Slice, TopK) and removed attributes (BatchNormalization's spatial, consumed_inputs).
/// Operators whose meaning changed in a way that cannot be rewritten locally are refused, naming the node.
/// Needed because a merged or training graph must use one opset for all its nodes.
/// </summary>
internal static class OpsetUpgrader
{
    /// <summary>Upgrades <paramref name="model"/> to ai.onnx <paramref name="target"/>; a no-op when already there.</summary>
    public static void Upgrade(OnnxModel model, long target = OnnxModel.DefaultOpset)
    {
        var from = model.OpsetVersion();
        if (from >= target) return;
        if (from < 7)
            throw new OnnxFormatException($"{model.DisplayName}: opset {from} is older than 7, which this toolkit can upgrade; re-export the model with a newer exporter.");
        var g = new GraphBuilder(model.Graph);
        var nodes = model.Graph.Node.ToList();
        foreach (var node in nodes)
            if (node.Domain is "" or "ai.onnx")
                UpgradeNode(g, node, from, target, model.DisplayName);
        foreach (var o in model.Proto.OpsetImport)
            if (o.Domain is "" or "ai.onnx") o.Version = target;
        model.Proto.IrVersion = Math.Max(model.Proto.IrVersion, 8);
    }

    private static void UpgradeNode(GraphBuilder g, NodeProto node, long from, long target, string model)
    {
        bool Crosses(long v) => from < v && target >= v;
        switch (node.OpType)
        {
            case "Clip" when Crosses(11):
                MoveFloatAttributesToInputs(g, node, ("min", float.MinValue), ("max", float.MaxValue));
                break;
            case "Pad" when Crosses(11):
                {
                    var pads = OnnxAttribute.GetInts(node, "pads", []);
                    var value = OnnxAttribute.GetFloat(node, "value", 0f);
                    RemoveAttributes(node, "pads", "value");
                    node.Input.Add(g.Int64s("pads", pads));
                    node.Input.Add(g.Scalar(value, "pad_value"));
                    break;
                }
            case "Dropout" when Crosses(12):
                {
                    var ratio = OnnxAttribute.GetFloat(node, "ratio", 0.5f);
                    RemoveAttributes(node, "ratio", "is_test");
                    node.Input.Add(g.Scalar(ratio, "dropout_ratio"));
                    break;
                }
            case "Slice" when Crosses(10):
                {
                    var starts = OnnxAttribute.GetInts(node, "starts", []);
                    var ends = OnnxAttribute.GetInts(node, "ends", []);
                    var axes = OnnxAttribute.GetInts(node, "axes", []);
                    RemoveAttributes(node, "starts", "ends", "axes");
                    node.Input.Add(g.Int64s("slice_starts", starts));
                    node.Input.Add(g.Int64s("slice_ends", ends));
                    if (axes.Length > 0) node.Input.Add(g.Int64s("slice_axes", axes));
                    break;
                }
            case "TopK" when Crosses(10):
                {
                    var k = OnnxAttribute.GetInt(node, "k", 1);
                    RemoveAttributes(node, "k");
                    node.Input.Add(g.Int64s("topk_k", k));
                    break;
                }
            case "Squeeze" or "Unsqueeze" or "ReduceSum" when Crosses(13):
                MoveAxesToInput(g, node, "axes");
                break;
            case "Split" when Crosses(13):
                MoveAxesToInput(g, node, "split");
                break;
            case "BatchNormalization":
                if (OnnxAttribute.GetInt(node, "spatial", 1) != 1)
                    throw Refuse(model, node, "BatchNormalization with spatial=0");
                RemoveAttributes(node, "spatial", "consumed_inputs", "is_test");
                if (node.Output.Count > 1) { var y = node.Output[0]; node.Output.Clear(); node.Output.Add(y); }
                break;
            case "Softmax" or "LogSoftmax" or "Hardmax" when Crosses(13):
                // Before 13 these flattened to 2-D at `axis` (default 1); for the [N,C] inputs classifiers feed
                // them, axis 1 is the last axis and both meanings agree.
                if (OnnxAttribute.Find(node, "axis") is null) node.Attribute.Add(OnnxAttribute.Int("axis", 1));
                break;
            case "Upsample":
                throw Refuse(model, node, "Upsample (deprecated in opset 10; re-export with Resize)");
            case "Resize" when Crosses(11):
                if (node.Input.Count == 2) { var scales = node.Input[1]; node.Input[1] = ""; node.Input.Add(scales); }
                break;
            case "Add" or "Sub" or "Mul" or "Div" or "Gemm" or "Sum" or "Max" or "Min" or "Mean" or "Relu"
                or "Sigmoid" or "Tanh" or "Abs" or "Neg" or "Exp" or "Log" or "Sqrt" or "Reciprocal" or "Floor" or "Ceil"
                or "LeakyRelu" or "Elu" or "Selu" or "PRelu" or "HardSigmoid" or "Conv" or "ConvTranspose":
                RemoveAttributes(node, "consumed_inputs", "broadcast", "axis_w");
                break;
        }
    }

    private static void MoveFloatAttributesToInputs(GraphBuilder g, NodeProto node, params (string Name, float Default)[] attributes)
    {
        var values = attributes.Select(a => (a.Name, Value: OnnxAttribute.Find(node, a.Name)?.F ?? a.Default)).ToArray();
        RemoveAttributes(node, attributes.Select(a => a.Name).ToArray());
        foreach (var (name, value) in values)
            node.Input.Add(g.Scalar(value, $"{node.OpType.ToLowerInvariant()}_{name}"));
    }

    private static void MoveAxesToInput(GraphBuilder g, NodeProto node, string attribute)
    {
        var a = OnnxAttribute.Find(node, attribute);
        if (a is null) return;
        var values = a.Ints.ToArray();
        RemoveAttributes(node, attribute);
        // ReduceSum's axes input comes second; Split's split input is second too.
        while (node.Input.Count < 1) node.Input.Add("");
        node.Input.Insert(1, g.Int64s(attribute, values));
    }

    private static void RemoveAttributes(NodeProto node, params string[] names)
    {
        for (var i = node.Attribute.Count - 1; i >= 0; i--)
            if (names.Contains(node.Attribute[i].Name)) node.Attribute.RemoveAt(i);
    }

    private static OnnxFormatException Refuse(string model, NodeProto node, string what) =>
        new($"{model}: cannot upgrade node '{node.Name}' ({what}) to the toolkit's opset; re-export the model at opset 13 or newer.");
}
