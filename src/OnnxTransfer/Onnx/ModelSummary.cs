using OnnxTransfer.Onnx.Proto;

namespace OnnxTransfer.Onnx;

/// <summary>What a model is, at a glance: its interface, opsets, size, operators and whether it is quantized.</summary>
/// <param name="Name">The model's display name (file name).</param>
/// <param name="Producer">Producer name and version as recorded in the file ("" when absent).</param>
/// <param name="IrVersion">ONNX IR version.</param>
/// <param name="Opsets">Imported opsets: domain ("" = ai.onnx) to version.</param>
/// <param name="Inputs">Graph inputs (initializers listed as inputs by old exporters are left out).</param>
/// <param name="Outputs">Graph outputs.</param>
/// <param name="NodeCount">Nodes in the main graph.</param>
/// <param name="InitializerCount">Initializers in the main graph.</param>
/// <param name="ParameterCount">Sum of the initializers' element counts.</param>
/// <param name="OpHistogram">Operator type to node count, most frequent first.</param>
/// <param name="QuantizedOps">The quantization operators present (QLinear*, QuantizeLinear, ...), empty for a float model.</param>
internal sealed record ModelSummary(
    string Name,
    string Producer,
    long IrVersion,
    IReadOnlyDictionary<string, long> Opsets,
    IReadOnlyList<TensorInfo> Inputs,
    IReadOnlyList<TensorInfo> Outputs,
    int NodeCount,
    int InitializerCount,
    long ParameterCount,
    IReadOnlyList<KeyValuePair<string, int>> OpHistogram,
    IReadOnlyList<string> QuantizedOps)
{
    /// <summary>True when the graph contains quantization operators.</summary>
    public bool IsQuantized => QuantizedOps.Count > 0;

    /// <summary>True for an operator that works on quantized (integer) tensors.</summary>
    public static bool IsQuantizationOp(string opType) =>
        opType.StartsWith("QLinear", StringComparison.Ordinal) ||
        opType is "QuantizeLinear" or "DequantizeLinear" or "DynamicQuantizeLinear" or "ConvInteger" or "MatMulInteger"
            or "MatMulIntegerToFloat" or "DynamicQuantizeMatMul" or "QGemm" or "QAttention";

    /// <summary>Summarizes <paramref name="model"/> (no inference is run).</summary>
    public static ModelSummary Of(OnnxModel model)
    {
        var g = model.Graph;
        var initializers = new HashSet<string>(g.Initializer.Select(t => t.Name), StringComparer.Ordinal);
        var histogram = g.Node.GroupBy(n => n.OpType)
            .Select(x => KeyValuePair.Create(x.Key, x.Count()))
            .OrderByDescending(kv => kv.Value).ThenBy(kv => kv.Key, StringComparer.Ordinal)
            .ToList();
        var opsets = new SortedDictionary<string, long>(StringComparer.Ordinal);
        foreach (var o in model.Proto.OpsetImport) opsets[o.Domain == "ai.onnx" ? "" : o.Domain] = o.Version;
        var producer = string.Join(" ", new[] { model.Proto.ProducerName, model.Proto.ProducerVersion }.Where(s => s.Length > 0));
        return new ModelSummary(
            model.DisplayName,
            producer,
            model.Proto.IrVersion,
            opsets,
            g.Input.Where(i => !initializers.Contains(i.Name)).Select(TensorInfo.FromValueInfo).ToList(),
            g.Output.Select(TensorInfo.FromValueInfo).ToList(),
            g.Node.Count,
            g.Initializer.Count,
            g.Initializer.Sum(t => OnnxTensor.ElementCount(t.Dims)),
            histogram,
            histogram.Select(kv => kv.Key).Where(IsQuantizationOp).ToList());
    }
}
