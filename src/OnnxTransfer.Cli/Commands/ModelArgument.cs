using System.CommandLine;
using OnnxTransfer.Backbones;
using OnnxTransfer.Onnx;

namespace OnnxTransfer.Cli.Commands;

/// <summary>The MODEL argument of model commands, and the one place it is turned into a loaded model.</summary>
internal static class ModelArgument
{
    /// <summary>A fresh MODEL argument for a command.</summary>
    public static Argument<string> Create() =>
        new("MODEL") { Description = "An ONNX model file, or a backbone name from `onnxtransfer backbones` (pulled if needed)." };

    /// <summary>Loads the model the argument names: an existing file, else a registry backbone.</summary>
    public static OnnxModel Load(string value)
    {
        if (File.Exists(value) || value.EndsWith(".onnx", StringComparison.OrdinalIgnoreCase))
            return OnnxModel.Load(value);
        var resolved = BackboneRegistry.Default.ResolveAsync(value).GetAwaiter().GetResult();
        return OnnxModel.Load(resolved.ModelPath);
    }
}
