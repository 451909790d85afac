using System.CommandLine;
using OnnxTransfer.Onnx;

namespace OnnxTransfer.Cli.Commands;

/// <summary>The MODEL argument of model commands, and the one place it is turned into a loaded model.</summary>
internal static class ModelArgument
{
    /// <summary>A fresh MODEL argument for a command.</summary>
    public static Argument<string> Create() => new("MODEL") { Description = "Path of an ONNX model (.onnx)." };

    /// <summary>Loads the model the argument names (a path today; backbone names resolve here later).</summary>
    public static OnnxModel Load(string value) => OnnxModel.Load(value);
}
