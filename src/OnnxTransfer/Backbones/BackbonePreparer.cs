using System.Text;
using OnnxTransfer.Onnx;
using OnnxTransfer.Onnx.Proto;

namespace OnnxTransfer.Backbones;

/// <summary>
/// Makes the model a backbone runs from its downloaded files, as its manifest's <see cref="BackbonePreparation"/> says:
/// the preprocessing model chained in front, the opset raised to the toolkit's, and a fixed batch dimension freed,
/// so extraction can batch. The result is written once into the cache beside a stamp of its sources.
/// </summary>
internal static class BackbonePreparer
{
    /// <summary>Bump when the preparation itself changes, so cached results are rebuilt.</summary>
    private const string Recipe = "prepare-v1";

    /// <summary>Symbol given to the freed batch dimension.</summary>
    public const string BatchSymbol = "N";

    /// <summary>
    /// The prepared model's path in the cache folder of <paramref name="files"/>: reused when its stamp matches the
    /// sources, otherwise built from them.
    /// </summary>
    public static string Ensure(BackboneManifest manifest, BackbonePreparation prepare, IReadOnlyList<ResolvedFile> files, string folder)
    {
        string PathOf(string name) => files.First(f => f.File == name).Path;
        var sources = new[] { prepare.Model, prepare.Prefix }.OfType<string>()
            .Select(name => $"{name} {manifest.Files.First(f => f.Name == name).Sha256}");
        var stamp = string.Join("\n", sources.Prepend($"{Recipe} dynamicBatch={prepare.DynamicBatch}"));
        var output = Path.Combine(folder, prepare.Output);
        var stampPath = output + ".stamp";
        if (File.Exists(output) && File.Exists(stampPath) && File.ReadAllText(stampPath) == stamp)
            return output;

        var model = OnnxModel.Load(PathOf(prepare.Model));
        var prefix = prepare.Prefix is { } p ? OnnxModel.Load(PathOf(p)) : null;
        var prepared = Prepare(model, prefix, prepare.DynamicBatch);
        prepared.Save(output);
        AtomicFile.Write(stampPath, s => s.Write(Encoding.UTF8.GetBytes(stamp)));
        return output;
    }

    /// <summary>
    /// <paramref name="prefix"/> (single input, single output) chained into <paramref name="model"/>'s single input,
    /// at the toolkit's opset, with the batch dimension free when <paramref name="dynamicBatch"/>. Inputs are not modified.
    /// </summary>
    /// <exception cref="OnnxFormatException">More than one graph input, or a node that pins the batch size.</exception>
    public static OnnxModel Prepare(OnnxModel model, OnnxModel? prefix, bool dynamicBatch)
    {
        var network = model.Clone();
        OpsetUpgrader.Upgrade(network);
        var result = network;
        if (prefix is not null)
        {
            var front = prefix.Clone();
            OpsetUpgrader.Upgrade(front);
            var prefixOutput = front.Graph.Output.Count == 1 ? front.Graph.Output[0].Name
                : throw new OnnxFormatException($"{prefix.DisplayName}: a preprocessing model needs exactly one output (has {front.Graph.Output.Count}).");
            result = ModelMerger.Merge(front, prefixOutput, network, SingleInput(network).Name);
        }
        if (dynamicBatch) FreeBatch(result);
        result.Proto.ProducerName = "OnnxTransfer";
        result.Proto.ProducerVersion = ToolInfo.Version;
        return result;
    }

    /// <summary>Replaces dimension 0 of every input, output and value_info by <see cref="BatchSymbol"/>.</summary>
    /// <exception cref="OnnxFormatException">A Reshape or Expand with a constant shape would keep the old batch size.</exception>
    public static void FreeBatch(OnnxModel model)
    {
        var graph = model.Graph;
        var constants = graph.Initializer.Select(t => t.Name).ToHashSet(StringComparer.Ordinal);
        foreach (var node in graph.Node)
            if (node.OpType is "Reshape" or "Expand" && node.Input.Count > 1 && constants.Contains(node.Input[1]))
            {
                var shape = OnnxTensor.ToInt64s(graph.Initializer.First(t => t.Name == node.Input[1]));
                // 0 copies the input's dimension and -1 is inferred; any other first entry pins the batch size.
                if (shape.Length > 0 && shape[0] is not (0 or -1))
                    throw new OnnxFormatException($"{model.DisplayName}: node '{node.Name}' ({node.OpType}) has a constant shape starting with {shape[0]}, which pins the batch size; keep the batch fixed.");
            }
        foreach (var value in graph.Input.Concat(graph.Output).Concat(graph.ValueInfo))
        {
            if (constants.Contains(value.Name)) continue;
            if (value.Type?.TensorType?.Shape is { Dim.Count: > 0 } shape)
                shape.Dim[0] = new TensorShapeProto.Types.Dimension { DimParam = BatchSymbol };
        }
    }

    private static ValueInfoProto SingleInput(OnnxModel model)
    {
        var initializers = model.Graph.Initializer.Select(t => t.Name).ToHashSet(StringComparer.Ordinal);
        var inputs = model.Graph.Input.Where(i => !initializers.Contains(i.Name)).ToArray();
        return inputs.Length == 1 ? inputs[0]
            : throw new OnnxFormatException($"{model.DisplayName}: a preprocessing model can only be chained into a model with one input (has {inputs.Length}).");
    }
}
