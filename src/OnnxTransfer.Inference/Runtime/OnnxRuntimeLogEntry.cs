using Microsoft.ML.OnnxRuntime;

namespace OnnxTransfer.Runtime;

/// <summary>One message ONNX Runtime logged.</summary>
/// <param name="Time">When it arrived (UTC).</param>
/// <param name="Severity">ORT's severity (verbose … fatal).</param>
/// <param name="Category">ORT's category, e.g. "onnxruntime".</param>
/// <param name="CodeLocation">ORT's source location, e.g. "graph.cc:4392 CleanUnusedInitializersAndNodeArgs".</param>
/// <param name="Message">The message.</param>
internal sealed record OnnxRuntimeLogEntry(DateTime Time, OrtLoggingLevel Severity, string Category, string CodeLocation, string Message)
{
    /// <summary>One line: time, severity letter, location, message.</summary>
    public override string ToString() =>
        $"{Time:yyyy-MM-ddTHH:mm:ss.fffZ} [{Severity.ToString()["ORT_LOGGING_LEVEL_".Length..][0]}] {CodeLocation}: {Message}";
}
