namespace OnnxTransfer.Cli.Rendering;

/// <summary>How much a command says on stderr; set by the global <c>--quiet</c> and <c>--verbose</c> options.</summary>
internal enum Verbosity
{
    /// <summary>Progress, notes and warnings.</summary>
    Normal,
    /// <summary>Errors only: no progress, notes or warnings.</summary>
    Quiet,
    /// <summary>Everything, plus debug lines and ONNX Runtime's own log.</summary>
    Verbose,
}

/// <summary>
/// Where a command's words go: results on stdout (the invocation's output), progress, notes and warnings on stderr as far
/// as <see cref="Verbosity"/> allows. Each invocation sets its own (<see cref="CliApp"/> wraps every command's action), so
/// commands run in-process by tests do not see each other's settings.
/// </summary>
internal static class CliConsole
{
    private sealed record Settings(Verbosity Verbosity, TextWriter Out, TextWriter Error, bool IsProcessError);

    private static readonly AsyncLocal<Settings?> Current = new();

    /// <summary>This invocation's verbosity.</summary>
    public static Verbosity Verbosity => Current.Value?.Verbosity ?? Verbosity.Normal;

    /// <summary>This invocation's stdout.</summary>
    public static TextWriter Out => Current.Value?.Out ?? Console.Out;

    /// <summary>This invocation's stderr.</summary>
    public static TextWriter Error => Current.Value?.Error ?? Console.Error;

    /// <summary>True when <see cref="Error"/> is the process's stderr (a live progress bar can draw there), not a test's writer.</summary>
    public static bool IsProcessError => Current.Value?.IsProcessError ?? true;

    /// <summary>Sets the verbosity and writers for the rest of the calling async flow.</summary>
    /// <remarks>stderr is synchronized: ONNX Runtime's log arrives from its own threads.</remarks>
    internal static void Use(Verbosity verbosity, TextWriter output, TextWriter error) =>
        Current.Value = new Settings(verbosity, output, TextWriter.Synchronized(error), error == Console.Error);

    /// <summary>A line on stderr, unless quiet.</summary>
    public static void Note(string line)
    {
        if (Verbosity != Verbosity.Quiet) Error.WriteLine(line);
    }

    /// <summary>"warning: ..." on stderr, unless quiet.</summary>
    public static void Warning(string message) => Note($"warning: {message}");

    /// <summary>"debug: ..." on stderr, only when verbose.</summary>
    public static void Debug(string line)
    {
        if (Verbosity == Verbosity.Verbose) Error.WriteLine($"debug: {line}");
    }
}
