using System.CommandLine;
using System.Globalization;
using OnnxTransfer.Onnx;
using OnnxTransfer.Training.Heads;

namespace OnnxTransfer.Cli.Commands;

/// <summary>`onnxtransfer dequantize MODEL --out FLOAT.onnx [--no-clamp]`.</summary>
internal static class DequantizeCommand
{
    /// <summary>Builds the command.</summary>
    public static Command Create()
    {
        var model = ModelArgument.Create();
        var output = new Option<string>("--out", "-o") { Description = "Where to write the float model (.onnx).", Required = true };
        var noClamp = new Option<bool>("--no-clamp")
        {
            Description = "Do not clamp former 8-bit activations to their quantized range (the clamp restores ReLU/ReLU6 fused into QLinear ops).",
        };
        var command = new Command("dequantize", "Turn a quantized model (QLinear ops or QDQ) into a float model with dequantized weights, e.g. to fine-tune it.")
        {
            model, output, noClamp,
        };
        command.SetAction(parseResult =>
        {
            OutputPaths.RefuseOverlap([("MODEL", parseResult.GetValue(model))], [("--out", parseResult.GetValue(output))]);
            var loaded = ModelArgument.Load(parseResult.GetValue(model)!);
            var result = Dequantizer.Dequantize(loaded, clampToQuantizedRange: !parseResult.GetValue(noClamp));
            var path = parseResult.GetValue(output)!;
            result.Model.Save(path);
            parseResult.InvocationConfiguration.Output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"wrote {path}: {result.ConvertedNodes} quantized nodes rewritten, {result.Model.Graph.Node.Count} nodes, opset {result.Model.OpsetVersion()}"));
            return 0;
        });
        return command;
    }
}
