using System.CommandLine;
using OnnxTransfer.Runtime;

namespace OnnxTransfer.Cli.Commands;

/// <summary>The `--device` and `--ep` options every command that runs a model shares.</summary>
internal sealed class DeviceOptions
{
    public Option<string> Device { get; } = new Option<string>("--device")
    {
        Description = "Where models run: auto (CUDA if usable, else CPU), cpu, cuda or cuda:N.",
        DefaultValueFactory = _ => "cpu",
    }.Parses(text => ExecutionDevice.Parse(text));

    public Option<string?> Provider { get; } = new Option<string?>("--ep")
    {
        Description = "Another ONNX Runtime execution provider: NAME[:key=value,...] (library=PATH loads a plugin EP).",
    }.Parses(text => ExecutionDevice.ParseProvider(text!));

    /// <summary>Adds both options to <paramref name="command"/>.</summary>
    public DeviceOptions AddTo(Command command)
    {
        command.Options.Add(Device);
        command.Options.Add(Provider);
        return this;
    }

    /// <summary>The device the user asked for.</summary>
    public ExecutionDevice Read(ParseResult result) => ExecutionDevice.FromOptions(result.GetValue(Device), result.GetValue(Provider));
}
