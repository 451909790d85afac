using System.Diagnostics;
using OnnxTransfer.Onnx;
using OnnxTransfer.Runtime;
using DataType = OnnxTransfer.Onnx.Proto.TensorProto.Types.DataType;

namespace OnnxTransfer.Tests.Runtime;

/// <summary>
/// ONNX Runtime's own log lines go through <see cref="OnnxRuntimeLog"/>, not to the terminal. Checked in child
/// processes, because ORT writes to file descriptor 2 from native code, where Console.SetError cannot see it.
/// </summary>
public class OnnxRuntimeLogTests
{
    public const string ChildMode = "ort-log";
    public const string PlainOrtChildMode = "ort-log-plain";
    private const string UnusedName = "never_used_by_any_node";

    // y = x + b, plus an initializer no node reads: ORT warns "Removing initializer '...'. It is not used by any node".
    private static string ModelWithUnusedInitializer(TempDir dir)
    {
        var model = OnnxModel.Create("warns", 13);
        var g = new GraphBuilder(model.Graph);
        var x = g.Input("x", DataType.Float, [1, 4]);
        var b = g.Initializer("b", [1f, 2f, 3f, 4f], 1, 4);
        g.Initializer(UnusedName, [5f], 1);
        g.Alias(g.Node("Add", [x, b]), "y");
        g.Output("y", DataType.Float, [1, 4]);
        var path = dir.File("warns.onnx");
        File.WriteAllBytes(path, model.ToBytes());
        return path;
    }

    /// <summary>Child: creates a session the way commands do and prints what reached our log sink.</summary>
    public static int Child(string[] args)
    {
        var entries = new List<OnnxRuntimeLogEntry>();
        using (OnnxRuntimeLog.Subscribe(e => { lock (entries) entries.Add(e); }))
        {
            using var factory = SessionFactory.Create(ExecutionDevice.Parse(args[1]), SessionSettings.Default with { IntraOpThreads = 1 });
            if (factory.Warning is { } warning) Console.Error.WriteLine($"warning: {warning}"); // as the CLI commands print it
            using var session = factory.CreateSession(args[0]);
        }
        Console.Out.WriteLine($"routed: {OnnxRuntimeLog.IsRouted}");
        foreach (var e in entries) Console.Out.WriteLine($"entry: {e}");
        return 0;
    }

    /// <summary>Child: the same model through plain ONNX Runtime, touching no OnnxTransfer type (the control).</summary>
    public static int PlainOrtChild(string[] args)
    {
        using var session = new Microsoft.ML.OnnxRuntime.InferenceSession(args[0]);
        return 0;
    }

    private static (int Code, string Output, string Error) Run(params string[] args)
    {
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        psi.ArgumentList.Add(typeof(TestProgram).Assembly.Location);
        foreach (var a in args) psi.ArgumentList.Add(a);
        psi.Environment.Remove(OnnxRuntimeLog.FileVariable);
        using var child = Process.Start(psi)!;
        var output = child.StandardOutput.ReadToEndAsync();
        var error = child.StandardError.ReadToEndAsync();
        Assert.True(child.WaitForExit(120_000), "child process hung");
        return (child.ExitCode, output.Result, error.Result);
    }

    [Fact]
    public void Ort_warnings_reach_our_log_once_and_never_stderr()
    {
        using var dir = new TempDir();
        var (code, output, error) = Run(ChildMode, ModelWithUnusedInitializer(dir), "cpu");

        Assert.Equal(0, code);
        Assert.Equal("", error);
        Assert.Contains("routed: True", output);
        var entry = Assert.Single(output.Split('\n').Where(l => l.StartsWith("entry: ", StringComparison.Ordinal) && l.Contains(UnusedName)));
        Assert.Contains("[W]", entry);
    }

    [Fact]
    public void Without_the_routing_ort_prints_that_warning_to_stderr()
    {
        // The control for the test above: the same model does make ORT write to the terminal by default.
        using var dir = new TempDir();
        var (code, _, error) = Run(PlainOrtChildMode, ModelWithUnusedInitializer(dir));
        Assert.Equal(0, code);
        Assert.Contains(UnusedName, error);
    }

    [Fact]
    public void Auto_device_prints_exactly_one_warning_when_cuda_cannot_be_used()
    {
        using var dir = new TempDir();
        var (code, _, error) = Run(ChildMode, ModelWithUnusedInitializer(dir), "auto");

        Assert.Equal(0, code);
        var lines = error.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        if (CudaSupport.Check().Usable)
        {
            Assert.Empty(lines);
            return;
        }
        var line = Assert.Single(lines);
        Assert.StartsWith("warning: CUDA not used (", line);
        Assert.Contains(CudaSupport.Check().Reason, line);
    }
}
