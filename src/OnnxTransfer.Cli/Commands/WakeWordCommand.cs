using System.CommandLine;
using OnnxTransfer.Audio;
using OnnxTransfer.Backbones;
using OnnxTransfer.Cli.Rendering;

namespace OnnxTransfer.Cli.Commands;

/// <summary><c>onnxtransfer wakeword ...</c>: synthesize data, train, detect, evaluate and benchmark wake-word heads.</summary>
internal static class WakeWordCommand
{
    /// <summary>Builds the command group.</summary>
    public static Command Create() => new("wakeword", "Wake-word detection on openWakeWord's speech embeddings: synth, train, calibrate, detect, evaluate, bench, concat.")
    {
        WakeWordSynthCommand.Create(),
        WakeWordTrainCommand.Create(),
        WakeWordCalibrateCommand.Create(),
        WakeWordDetectCommand.Create(),
        WakeWordEvaluateCommand.Create(),
        WakeWordBenchCommand.Create(),
        WakeWordConcatCommand.Create(),
    };

    /// <summary>Resolves the openwakeword backbone (cache, ONNXTRANSFER_MIRROR, download) and loads the front end.</summary>
    internal static async Task<SpeechFrontEnd> OpenFrontEndAsync(bool quiet, CancellationToken ct)
    {
        var registry = BackboneRegistry.Default;
        var resolved = quiet
            ? await registry.ResolveAsync("openwakeword", null, ct)
            : await ProgressRenderer.RunAsync("openwakeword front end", progress => registry.ResolveAsync("openwakeword", progress, ct));
        return new SpeechFrontEnd(resolved.PathOf("melspectrogram.onnx"), resolved.PathOf("embedding_model.onnx"));
    }
}
