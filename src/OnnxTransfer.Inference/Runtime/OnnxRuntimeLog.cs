using System.Runtime.CompilerServices;
using System.Text;
using Microsoft.ML.OnnxRuntime;

namespace OnnxTransfer.Runtime;

/// <summary>
/// Routes ONNX Runtime's own log (warnings and errors it would otherwise print to stderr, such as
/// "[W:onnxruntime:...] Removing initializer") into this library: kept in memory (<see cref="Recent"/>), passed to
/// subscribers, and appended to the file named by <c>ONNXTRANSFER_ORT_LOG</c> when set. Configured once per process,
/// when this assembly loads, before any session exists; the user-facing message for a failure is ours (one line).
/// </summary>
internal static class OnnxRuntimeLog
{
    /// <summary>Environment variable naming a file that receives every ONNX Runtime log line.</summary>
    public const string FileVariable = "ONNXTRANSFER_ORT_LOG";

    /// <summary>How many entries <see cref="Recent"/> keeps.</summary>
    public const int RecentCount = 100;

    private static readonly object Gate = new();
    private static readonly Queue<OnnxRuntimeLogEntry> RecentEntries = new();
    private static readonly List<Action<OnnxRuntimeLogEntry>> Subscribers = [];
    // Held for the process lifetime: native code calls it from its own threads.
    private static readonly DOrtLoggingFunction Callback = OnMessage;
    private static readonly UTF8Encoding Utf8NoBom = new(false);
    private static bool _configured;

    /// <summary>True when ONNX Runtime's log goes through this class (false if something created ORT's environment first).</summary>
    public static bool IsRouted { get; private set; }

    /// <summary>The last <see cref="RecentCount"/> entries, oldest first.</summary>
    public static IReadOnlyList<OnnxRuntimeLogEntry> Recent
    {
        get { lock (Gate) return RecentEntries.ToArray(); }
    }

    // Runs before any type of this assembly is used, so before this library creates an ORT session or SessionOptions.
    [ModuleInitializer]
#pragma warning disable CA2255 // a library module initializer is the point: ORT's environment must be created before any session
    internal static void ConfigureOnLoad() => Configure();
#pragma warning restore CA2255

    /// <summary>Creates ONNX Runtime's process-wide environment with the log routed here; does nothing the second time.</summary>
    public static void Configure()
    {
        lock (Gate)
        {
            if (_configured) return;
            _configured = true;
            try
            {
                if (OrtEnv.IsCreated) return; // someone else made it; ORT keeps its own logger
                var options = new EnvironmentCreationOptions
                {
                    logId = "onnxtransfer",
                    logLevel = OrtLoggingLevel.ORT_LOGGING_LEVEL_WARNING,
                    loggingFunction = Callback,
                };
                OrtEnv.CreateInstanceWithOptions(ref options);
                IsRouted = true;
            }
            catch (Exception e) when (e is DllNotFoundException or TypeInitializationException or OnnxRuntimeException or EntryPointNotFoundException)
            {
                // No native runtime here: the first real use reports that with its own error.
            }
        }
    }

    /// <summary>Calls <paramref name="handler"/> for every entry until the returned handle is disposed.</summary>
    public static IDisposable Subscribe(Action<OnnxRuntimeLogEntry> handler)
    {
        lock (Gate) Subscribers.Add(handler);
        return new Subscription(handler);
    }

    private static void OnMessage(IntPtr param, OrtLoggingLevel severity, string category, string logId, string codeLocation, string message)
    {
        // Never throw into native code.
        try
        {
            var entry = new OnnxRuntimeLogEntry(DateTime.UtcNow, severity, category ?? "", codeLocation ?? "", message ?? "");
            Action<OnnxRuntimeLogEntry>[] subscribers;
            lock (Gate)
            {
                RecentEntries.Enqueue(entry);
                while (RecentEntries.Count > RecentCount) RecentEntries.Dequeue();
                subscribers = [.. Subscribers];
                AppendToFile(entry);
            }
            foreach (var s in subscribers) s(entry);
        }
        catch
        {
            // A broken subscriber or an unwritable log file must not take the process down from a native thread.
        }
    }

    private static void AppendToFile(OnnxRuntimeLogEntry entry)
    {
        var path = Environment.GetEnvironmentVariable(FileVariable);
        if (string.IsNullOrWhiteSpace(path)) return;
        try
        {
            File.AppendAllText(path, entry + "\n", Utf8NoBom);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
    }

    private sealed class Subscription(Action<OnnxRuntimeLogEntry> handler) : IDisposable
    {
        public void Dispose()
        {
            lock (Gate) Subscribers.Remove(handler);
        }
    }
}
