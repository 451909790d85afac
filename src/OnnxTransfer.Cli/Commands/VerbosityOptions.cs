using System.CommandLine;
using System.CommandLine.Invocation;
using System.Diagnostics;
using OnnxTransfer.Cli.Rendering;

namespace OnnxTransfer.Cli.Commands;

/// <summary>
/// The global <c>--quiet</c> and <c>--verbose</c> options: every command's action is wrapped so that it runs with its
/// invocation's <see cref="CliConsole"/> settings (and, verbose, with ONNX Runtime's log echoed on stderr).
/// </summary>
internal static class VerbosityOptions
{
    /// <summary>Adds both options to <paramref name="root"/> (they apply to every subcommand) and wraps every action below it.</summary>
    public static void AddTo(RootCommand root)
    {
        var quiet = new Option<bool>("--quiet", "-q") { Description = "Print errors only: no progress bars, notes or warnings.", Recursive = true };
        var verbose = new Option<bool>("--verbose", "-v") { Description = "Also print debug lines and ONNX Runtime's own log on stderr.", Recursive = true };
        root.Options.Add(quiet);
        root.Options.Add(verbose);
        Wrap(root, quiet, verbose);
    }

    private static void Wrap(Command command, Option<bool> quiet, Option<bool> verbose)
    {
        if (command.Action is { } action) command.Action = new ScopedAction(action, quiet, verbose);
        foreach (var sub in command.Subcommands) Wrap(sub, quiet, verbose);
    }

    private sealed class ScopedAction(CommandLineAction inner, Option<bool> quiet, Option<bool> verbose) : AsynchronousCommandLineAction
    {
        public override async Task<int> InvokeAsync(ParseResult parseResult, CancellationToken cancellationToken = default)
        {
            var (isQuiet, isVerbose) = (parseResult.GetValue(quiet), parseResult.GetValue(verbose));
            if (isQuiet && isVerbose) throw new UsageException("--quiet and --verbose contradict each other; give one of them.");
            var config = parseResult.InvocationConfiguration;
            CliConsole.Use(isQuiet ? Verbosity.Quiet : isVerbose ? Verbosity.Verbose : Verbosity.Normal, config.Output, config.Error);
            using var ortLog = isVerbose ? RuntimeLogEcho.Start(CliConsole.Error) : null;
            CliConsole.Debug($"{ToolInfo.NameAndVersion}: {string.Join(' ', parseResult.Tokens.Select(t => t.Value))}");
            var clock = Stopwatch.StartNew();
            var code = inner switch
            {
                AsynchronousCommandLineAction a => await a.InvokeAsync(parseResult, cancellationToken),
                SynchronousCommandLineAction s => s.Invoke(parseResult),
                _ => throw new InvalidOperationException($"unknown action type {inner.GetType().Name}"),
            };
            CliConsole.Debug(FormattableString.Invariant($"exit code {code} after {clock.Elapsed.TotalSeconds:F2} s"));
            return code;
        }
    }
}
