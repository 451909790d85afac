using System.CommandLine;
using System.CommandLine.Invocation;
using OnnxTransfer.Cli.Commands;
using OnnxTransfer.Cli.Rendering;
using OnnxTransfer.Features;

namespace OnnxTransfer.Cli;

/// <summary>The `onnxtransfer` command tree. Each command lives in Commands/ and only parses and calls the library.</summary>
internal static class CliApp
{
    /// <summary>The name usage lines show, whatever launched the CLI (the dll, the tools/ launcher, a test host).</summary>
    public const string Name = "onnxtransfer";

    /// <summary>Exit code of a failure while working.</summary>
    public const int RuntimeError = 1;

    /// <summary>Exit code of a command line that cannot work: unknown option, missing argument, bad value.</summary>
    public const int UsageError = 2;

    /// <summary>Builds the root command with every subcommand and the global --quiet and --verbose options.</summary>
    public static RootCommand Build()
    {
        var root = new RootCommand("OnnxTransfer: transfer learning on ONNX Runtime — cut a pretrained backbone, train a new head, ship one ONNX file.")
        {
            HelpName = Name,
        };
        foreach (var command in Commands())
            root.Subcommands.Add(command);
        VerbosityOptions.AddTo(root);
        return root;
    }

    private static IEnumerable<Command> Commands()
    {
        // One line per command; keep alphabetical.
        yield return BackbonesCommand.Create();
        yield return BenchCommand.Create();
        yield return CompareCommand.Create();
        yield return CurveCommand.Create();
        yield return CutCommand.Create();
        yield return DequantizeCommand.Create();
        yield return DoctorCommand.Create();
        yield return EvaluateCommand.Create();
        yield return ExportCommand.Create();
        yield return ExtractCommand.Create();
        yield return FitCommand.Create();
        yield return InspectCommand.Create();
        yield return MergeCommand.Create();
        yield return PredictCommand.Create();
        yield return PullCommand.Create();
        yield return TrainCommand.Create();
        yield return WakeWordCommand.Create();
    }

    /// <summary>Parses and runs on the process's console; see <see cref="Run(string[], TextWriter, TextWriter)"/>.</summary>
    public static int Run(string[] args) => Run(args, Console.Out, Console.Error);

    /// <summary>
    /// Parses and runs with results on <paramref name="output"/> and errors on <paramref name="error"/>. Exit codes: 0 done,
    /// 1 a failure while working (one "error: ..." line), 2 a usage error (unknown option, missing argument, bad value),
    /// 130 Ctrl-C, 143 SIGTERM.
    /// </summary>
    public static int Run(string[] args, TextWriter output, TextWriter error)
    {
        using var signals = new StopSignals();
        // Redirected output has no width and Spectre would wrap at 80 columns, splitting the paths and numbers people grep for.
        if (Console.IsOutputRedirected) Spectre.Console.AnsiConsole.Profile.Width = 1000;
        var parsed = Build().Parse(args);
        if (parsed.Action is ParseErrorAction) return ReportParseErrors(parsed, error);
        try
        {
            // Our handler below prints user errors as one line; System.CommandLine's default one would dump a stack trace.
            // ProcessTerminationTimeout = null: Ctrl-C and SIGTERM cancel the token (StopSignals) and let the command
            // save its checkpoint instead of the process being killed two seconds later.
            var invocation = new InvocationConfiguration { EnableDefaultExceptionHandler = false, ProcessTerminationTimeout = null, Output = output, Error = error };
            return parsed.InvokeAsync(invocation, signals.Token).GetAwaiter().GetResult();
        }
        catch (Exception e) when (Unwrap(e) is OnnxTransferException ote)
        {
            error.WriteLine($"error: {ote.Message}");
            return ote is UsageException ? UsageError : RuntimeError;
        }
        catch (Exception e) when (Unwrap(e) is OperationCanceledException)
        {
            error.WriteLine(Unwrap(e) is ExtractionStoppedException stopped ? stopped.Message : "cancelled.");
            return signals.ExitCode;
        }
    }

    // One "error: ..." line per problem on stderr, then where the usage is; no help text on stdout, where scripts read results.
    private static int ReportParseErrors(ParseResult parsed, TextWriter error)
    {
        foreach (var e in parsed.Errors) error.WriteLine($"error: {e.Message}");
        var command = string.Join(' ', new[] { Name }.Concat(CommandPath(parsed.CommandResult.Command).Skip(1)));
        error.WriteLine($"usage: `{command} --help`");
        return UsageError;
    }

    private static IEnumerable<string> CommandPath(Command command)
    {
        var names = new Stack<string>();
        for (Symbol? s = command; s is not null; s = s.Parents.FirstOrDefault()) names.Push(s.Name);
        return names;
    }

    private static Exception Unwrap(Exception e) =>
        e is AggregateException { InnerExceptions.Count: 1 } a ? Unwrap(a.InnerException!) : e;
}
