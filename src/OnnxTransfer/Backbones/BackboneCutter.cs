using System.Globalization;
using OnnxTransfer.Onnx;
using DataType = OnnxTransfer.Onnx.Proto.TensorProto.Types.DataType;

namespace OnnxTransfer.Backbones;

/// <summary>
/// Cuts the head off a classifier: the result is a frozen feature extractor whose single output
/// <see cref="FeaturesOutput"/> is float32 [N,D]. A quantized (8-bit) cut tensor is dequantized with its own
/// scale and zero point, a feature map is average-pooled when asked, anything above rank 2 is flattened,
/// and every node and initializer the features do not need (the whole head) is removed.
/// </summary>
internal static class BackboneCutter
{
    /// <summary>Name of the cut model's output.</summary>
    public const string FeaturesOutput = "features";

    /// <summary>Metadata key: the tensor of the original model the features come from.</summary>
    public const string CutTensorKey = "onnxtransfer.cut.tensor";

    /// <summary>Metadata key: the pooling applied ("none" or "avg").</summary>
    public const string CutPoolKey = "onnxtransfer.cut.pool";

    /// <summary>Metadata key: the model that was cut (file name).</summary>
    public const string CutSourceKey = "onnxtransfer.cut.source";

    /// <summary>Metadata key: the feature dimension D.</summary>
    public const string FeatureDimKey = "onnxtransfer.features.dim";

    /// <summary>Cuts <paramref name="model"/> as <paramref name="options"/> say (default: auto, pooling as needed).</summary>
    /// <exception cref="OnnxFormatException">The tensor does not exist, cannot be a feature vector, or no candidate was found.</exception>
    public static OnnxModel Cut(OnnxModel model, CutOptions? options = null) => Cut(model, Plan(model, options ?? new CutOptions()));

    /// <summary>Decides the tensor, pooling and dequantization without editing anything.</summary>
    public static CutPlan Plan(OnnxModel model, CutOptions options)
    {
        var graph = model.Graph;
        if (string.Equals(options.At, CutOptions.Auto, StringComparison.OrdinalIgnoreCase))
        {
            var candidates = FeatureTensorFinder.Find(model);
            var pick = candidates.FirstOrDefault(c => options.Pool is null || c.Pool == options.Pool);
            if (pick is null)
                throw new OnnxFormatException(candidates.Count == 0
                    ? $"{model.DisplayName}: no feature tensor candidate found; name one with --at TENSOR (see `onnxtransfer inspect`)."
                    : $"{model.DisplayName}: no candidate needs --pool {Name(options.Pool!.Value)}; candidates: {Top(candidates)}; name one with --at TENSOR.");
            // Find lists candidates even when shapes could not be measured; measuring again surfaces the reason.
            var info = pick.Info.IsCompleteBeyondBatch ? pick.Info : TensorShapeProbe.Infer(model, pick.Tensor);
            return MakePlan(model, pick.Tensor, info, pick.Pool, pick.Reason);
        }

        var at = options.At;
        if (!GraphEditor.Contains(graph, at))
            throw new OnnxFormatException($"{model.DisplayName}: no tensor named '{at}'; candidates: {Top(FeatureTensorFinder.Find(model))}; run `onnxtransfer inspect` for the full list.");
        if (graph.Initializer.Any(t => t.Name == at))
            throw new OnnxFormatException($"{model.DisplayName}: '{at}' is a constant (initializer), not a computed tensor; cut at an activation, e.g. one listed by `onnxtransfer inspect`.");
        return MakePlan(model, at, TensorShapeProbe.Infer(model, at), options.Pool ?? FeaturePool.None, "named by the caller");
    }

    /// <summary>Applies a plan made by <see cref="Plan"/> to a copy of <paramref name="model"/>.</summary>
    public static OnnxModel Cut(OnnxModel model, CutPlan plan)
    {
        var cut = model.Clone();
        var graph = cut.Graph;
        var tensor = plan.Tensor;
        if (GraphEditor.Contains(graph, FeaturesOutput) || graph.Output.Any(o => o.Name == FeaturesOutput))
        {
            // Free the output name: cutting a model that already has a "features" tensor (e.g. an earlier cut).
            var renamed = FreshName(graph, FeaturesOutput + "_source");
            GraphEditor.RenameTensor(graph, FeaturesOutput, renamed);
            if (tensor == FeaturesOutput) tensor = renamed;
        }

        var g = new GraphBuilder(graph);
        var x = tensor;
        if (plan.Dequantize is { } q)
            x = g.Node("DequantizeLinear", q.ZeroPoint.Length > 0 ? [x, q.Scale, q.ZeroPoint] : [x, q.Scale]);
        else if (plan.Source.ElementType != DataType.Float)
            x = g.Node("Cast", [x], OnnxAttribute.Int("to", (long)DataType.Float));
        if (plan.Pool == FeaturePool.Avg)
            x = g.Node("GlobalAveragePool", [x]);
        if (plan.Source.Rank > 2)
            x = g.Node("Flatten", [x], OnnxAttribute.Int("axis", 1));
        g.Alias(x, FeaturesOutput);

        var batch = plan.Source.Shape![0];
        var n = batch.Value is null ? TensorDim.Symbolic(batch.Symbol.Length > 0 ? batch.Symbol : "N") : batch;
        var output = new TensorInfo(FeaturesOutput, DataType.Float, [n, TensorDim.Fixed(plan.Dimension)]);
        GraphEditor.SetOutputs(graph, output.ToValueInfo());
        GraphEditor.Prune(graph);

        cut.SetMetadata(CutTensorKey, plan.Tensor);
        cut.SetMetadata(CutPoolKey, Name(plan.Pool));
        cut.SetMetadata(CutSourceKey, model.DisplayName);
        cut.SetMetadata(FeatureDimKey, plan.Dimension.ToString(CultureInfo.InvariantCulture));
        return cut;
    }

    private static CutPlan MakePlan(OnnxModel model, string tensor, TensorInfo info, FeaturePool pool, string reason)
    {
        var name = model.DisplayName;
        if (info.Shape is null || info.Rank < 2)
            throw new OnnxFormatException($"{name}: '{tensor}' has shape {info.ShapeText}; a feature tensor needs a batch dimension and at least one more ([N,D] or [N,C,H,W]).");
        if (pool == FeaturePool.Avg && info.Rank < 3)
            throw new OnnxFormatException($"{name}: '{tensor}' is {info.ShapeText}, already a vector per item; --pool avg needs a [N,C,H,W] map, use --pool none.");
        QuantizationParameters? dequantize = null;
        if (info.IsEightBit)
        {
            dequantize = QuantizationParameters.Find(model.Graph, tensor)
                ?? throw new OnnxFormatException($"{name}: '{tensor}' is {info.ElementTypeName} but no op in the graph gives its scale and zero point; cut at a float tensor or a QLinear op's input.");
        }
        else if (info.ElementType is not (DataType.Float or DataType.Float16 or DataType.Double or DataType.Bfloat16))
            throw new OnnxFormatException($"{name}: '{tensor}' holds {info.ElementTypeName} values, not features; cut at a float or quantized activation.");
        var d = FeatureTensorFinder.Dimension(info, pool)
            ?? throw new OnnxFormatException($"{name}: the size of '{tensor}' {info.ShapeText} is not fixed (it follows a free dimension of the model's input), so D is unknown; cut at a tensor with fixed non-batch dimensions, or give the model's input fixed dimensions.");
        return new CutPlan(tensor, info, pool, dequantize, d, reason);
    }

    private static string Top(IReadOnlyList<FeatureCandidate> candidates) =>
        candidates.Count == 0 ? "none found" : string.Join(", ", candidates.Take(3).Select(c => $"{c.Tensor} {c.Info.ShapeText}"));

    private static string Name(FeaturePool pool) => pool == FeaturePool.Avg ? "avg" : "none";

    private static string FreshName(Onnx.Proto.GraphProto graph, string hint)
    {
        var name = hint;
        for (var k = 1; GraphEditor.Contains(graph, name) || graph.Output.Any(o => o.Name == name); k++) name = $"{hint}_{k}";
        return name;
    }
}
