using System.CommandLine;
using OnnxTransfer.Backbones;
using OnnxTransfer.Cli.Rendering;
using OnnxTransfer.Onnx;

namespace OnnxTransfer.Cli.Commands;

/// <summary>`onnxtransfer inspect MODEL [--json]`: what the model is and where its features are.</summary>
internal static class InspectCommand
{
    /// <summary>Builds the command.</summary>
    public static Command Create()
    {
        var model = ModelArgument.Create();
        var json = new Option<bool>("--json") { Description = "Print JSON (for scripts) instead of tables." };
        var command = new Command("inspect", "Show a model's inputs, outputs, opsets, size, operators, quantization and candidate feature tensors (first = what `cut --at auto` picks).")
        {
            model, json,
        };
        command.SetAction(parseResult =>
        {
            var loaded = ModelArgument.Load(parseResult.GetValue(model)!);
            var summary = ModelSummary.Of(loaded);
            var candidates = FeatureTensorFinder.Find(loaded);
            var output = parseResult.InvocationConfiguration.Output;
            if (parseResult.GetValue(json)) InspectionRenderer.WriteJson(output, loaded, summary, candidates);
            else InspectionRenderer.WriteTables(output, summary, candidates);
            return 0;
        });
        return command;
    }
}
