using System.CommandLine;
using OnnxTransfer.Backbones;
using OnnxTransfer.Cli.Rendering;

namespace OnnxTransfer.Cli.Commands;

/// <summary>`onnxtransfer cut MODEL --out FEATURES.onnx [--at TENSOR|auto] [--pool none|avg]`.</summary>
internal static class CutCommand
{
    /// <summary>Builds the command.</summary>
    public static Command Create()
    {
        var model = ModelArgument.Create();
        var output = new Option<string>("--out", "-o") { Description = "Where to write the feature extractor (.onnx).", Required = true };
        var at = new Option<string>("--at")
        {
            Description = "Tensor to cut at, or 'auto' for the best candidate (see `onnxtransfer inspect`).",
            DefaultValueFactory = _ => CutOptions.Auto,
        };
        var pool = new Option<string?>("--pool") { Description = "How to turn a feature map into a vector: none (flatten) or avg (global average pool). Default: what the auto candidate needs, else none." };
        pool.AcceptOnlyFromAmong("none", "avg");
        var command = new Command("cut", "Cut the head off a classifier: write a model whose single output 'features' is float32 [N,D].")
        {
            model, output, at, pool,
        };
        command.SetAction(parseResult =>
        {
            OutputPaths.RefuseOverlap([("MODEL", parseResult.GetValue(model))], [("--out", parseResult.GetValue(output))]);
            var loaded = ModelArgument.Load(parseResult.GetValue(model)!);
            var options = new CutOptions
            {
                At = parseResult.GetValue(at) ?? CutOptions.Auto,
                Pool = parseResult.GetValue(pool) switch { "avg" => FeaturePool.Avg, "none" => FeaturePool.None, _ => null },
            };
            var plan = BackboneCutter.Plan(loaded, options);
            var cut = BackboneCutter.Cut(loaded, plan);
            var path = parseResult.GetValue(output)!;
            cut.Save(path);
            InspectionRenderer.WriteCut(parseResult.InvocationConfiguration.Output, plan, cut, path);
            return 0;
        });
        return command;
    }
}
