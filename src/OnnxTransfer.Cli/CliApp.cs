using System.CommandLine;
using OnnxTransfer.Cli.Commands;
using OnnxTransfer.Features;

namespace OnnxTransfer.Cli;

/// <summary>The `onnxtransfer` command tree. Each command lives in Commands/ and only parses and calls the library.</summary>
internal static class CliApp
{
    /// <summary>Builds the root command with every subcommand.</summary>
    public static RootCommand Build()
    {
        var root = new RootCommand("OnnxTransfer: transfer learning on ONNX Runtime — cut a pretrained backbone, train a new head, ship one ONNX file.");
        foreach (var command in Commands())
            root.Subcommands.Add(command);
        return root;
    }

    private static IEnumerable<Command> Commands()
    {
        // One line per command; keep alphabetical.
        yield return BackbonesCommand.Create();
        yield return BenchCommand.Create();
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

    /// <summary>Parses and runs; user errors print one line and return 1, Ctrl-C returns 130, SIGTERM 143.</summary>
    public static int Run(string[] args)
    {
        using var signals = new StopSignals();
        // Redirected output has no width and Spectre would wrap at 80 columns, splitting the paths and numbers people grep for.
        if (Console.IsOutputRedirected) Spectre.Console.AnsiConsole.Profile.Width = 1000;
        try
        {
            // Our handler below prints user errors as one line; System.CommandLine's default one would dump a stack trace.
            // ProcessTerminationTimeout = null: Ctrl-C and SIGTERM cancel the token (StopSignals) and let the command
            // save its checkpoint instead of the process being killed two seconds later.
            var invocation = new InvocationConfiguration { EnableDefaultExceptionHandler = false, ProcessTerminationTimeout = null };
            return Build().Parse(args).InvokeAsync(invocation, signals.Token).GetAwaiter().GetResult();
        }
        catch (Exception e) when (Unwrap(e) is OnnxTransferException ote)
        {
            Console.Error.WriteLine($"error: {ote.Message}");
            return 1;
        }
        catch (Exception e) when (Unwrap(e) is OperationCanceledException)
        {
            Console.Error.WriteLine(Unwrap(e) is ExtractionStoppedException stopped ? stopped.Message : "cancelled.");
            return signals.ExitCode;
        }
    }

    private static Exception Unwrap(Exception e) =>
        e is AggregateException { InnerExceptions.Count: 1 } a ? Unwrap(a.InnerException!) : e;
}
