using System.CommandLine;

namespace OnnxTransfer.Cli.Commands;

/// <summary><c>onnxtransfer wakeword ...</c>: synthesize data, train, detect, evaluate and benchmark wake-word heads.</summary>
public static class WakeWordCommand
{
    /// <summary>Builds the command group.</summary>
    public static Command Create() => new("wakeword", "Wake-word detection on openWakeWord's speech embeddings: synth, train, detect, evaluate, bench.")
    {
        WakeWordSynthCommand.Create(),
    };
}
