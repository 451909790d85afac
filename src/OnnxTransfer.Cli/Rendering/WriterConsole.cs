using Spectre.Console;

namespace OnnxTransfer.Cli.Rendering;

/// <summary>A Spectre console writing to a given <see cref="TextWriter"/> (stdout, or a test's StringWriter).</summary>
internal static class WriterConsole
{
    /// <summary>
    /// A console over <paramref name="output"/>. Anything but an interactive terminal gets a wide profile: redirected
    /// output has no width, and Spectre's 80-column default would wrap the paths and numbers people grep for.
    /// </summary>
    public static IAnsiConsole Create(TextWriter output)
    {
        var console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(output) });
        if (output != Console.Out || Console.IsOutputRedirected) console.Profile.Width = 1000;
        return console;
    }
}
