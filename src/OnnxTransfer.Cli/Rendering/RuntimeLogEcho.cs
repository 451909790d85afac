using Microsoft.ML.OnnxRuntime;
using OnnxTransfer.Runtime;

namespace OnnxTransfer.Cli.Rendering;

/// <summary>ONNX Runtime's log, down to its info level, echoed as "ort: ..." lines while a verbose command runs.</summary>
internal sealed class RuntimeLogEcho : IDisposable
{
    private readonly IDisposable _subscription;
    private readonly OrtLoggingLevel _previous;

    private RuntimeLogEcho(TextWriter error)
    {
        if (!OnnxRuntimeLog.IsRouted) error.WriteLine("debug: ONNX Runtime's log is not routed through OnnxTransfer here; it goes to its own stderr");
        _previous = OrtEnv.Instance().EnvLogLevel;
        // Info, not verbose: ORT's verbose level is a per-node trace that buries everything else.
        OrtEnv.Instance().EnvLogLevel = OrtLoggingLevel.ORT_LOGGING_LEVEL_INFO;
        _subscription = OnnxRuntimeLog.Subscribe(entry => error.WriteLine($"ort: {entry}"));
    }

    /// <summary>Starts echoing to <paramref name="error"/> (a synchronized writer: ORT logs from its own threads).</summary>
    public static RuntimeLogEcho Start(TextWriter error) => new(error);

    public void Dispose()
    {
        _subscription.Dispose();
        OrtEnv.Instance().EnvLogLevel = _previous;
    }
}
