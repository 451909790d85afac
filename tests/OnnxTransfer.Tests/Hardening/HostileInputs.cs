using System.CommandLine;
using System.Diagnostics;
using System.Security.Cryptography;
using OnnxTransfer.Cli;
using OnnxTransfer.Onnx;
using DataType = OnnxTransfer.Onnx.Proto.TensorProto.Types.DataType;

namespace OnnxTransfer.Tests.Hardening;

/// <summary>Builders and assertions the hardening tests share: tiny models made at test time, FIFOs, the CLI in-process.</summary>
internal static class HostileInputs
{
    public static readonly string[] Labels = ["ant", "bee", "wasp"];

    /// <summary>
    /// A tiny exported-style image classifier: x float [N,3,8,8] → mean pool → softmax over 3 → outputs
    /// <c>probabilities</c> [N,3] and <c>label</c> [N], with OnnxTransfer metadata (overridable; null removes a key).
    /// </summary>
    public static OnnxModel Classifier(IReadOnlyDictionary<string, string?>? metadata = null, DataType inputType = DataType.Float, long?[]? inputDims = null)
    {
        var model = OnnxModel.Create("tiny_classifier");
        var g = new GraphBuilder(model.Graph);
        var x = g.Input("x", inputType, inputDims ?? [null, 3, 8, 8], ["N", "", "", ""]);
        var input = inputType == DataType.Float ? x : g.Node("Cast", [x], OnnxAttribute.Int("to", (long)DataType.Float));
        var pooled = g.Node("GlobalAveragePool", [input]);
        var flat = g.Node("Flatten", [pooled], OnnxAttribute.Int("axis", 1));
        var probs = g.Node("Softmax", [flat], OnnxAttribute.Int("axis", 1));
        g.Alias(probs, "probabilities");
        g.NodeWithOutputs("ArgMax", ["probabilities"], ["label"], "", OnnxAttribute.Int("axis", 1), OnnxAttribute.Int("keepdims", 0));
        g.Output("probabilities", DataType.Float, [null, 3], ["N", ""]);
        g.Output("label", DataType.Int64, [null], ["N"]);
        var meta = new Dictionary<string, string?>
        {
            ["onnxtransfer.labels"] = "[\"ant\",\"bee\",\"wasp\"]",
            ["onnxtransfer.input_kind"] = "ImageTensor",
            ["onnxtransfer.preprocessing"] = "resize=8,crop=8x8",
        };
        foreach (var (k, v) in metadata ?? new Dictionary<string, string?>()) meta[k] = v;
        foreach (var (k, v) in meta)
            if (v is not null) model.SetMetadata(k, v);
        return model;
    }

    /// <summary>A float model y = x * w with one initializer w[3] (for external-data cases).</summary>
    public static OnnxModel Scale()
    {
        var model = OnnxModel.Create();
        var g = new GraphBuilder(model.Graph);
        var x = g.Input("x", DataType.Float, [null, 3], ["batch"]);
        var w = g.Initializer("w", [1f, 2f, 3f], 3);
        g.Alias(g.Node("Mul", [x, w]), "y");
        g.Output("y", DataType.Float, [null, 3], ["batch"]);
        return model;
    }

    /// <summary>Saves <see cref="Scale"/> to <paramref name="modelPath"/> with w stored externally under <paramref name="location"/>.</summary>
    public static void SaveWithExternalWeights(string modelPath, string location, string? offset = null, string? length = null)
    {
        var model = Scale();
        var init = model.Graph.Initializer[0];
        init.RawData = Google.Protobuf.ByteString.Empty;
        init.DataLocation = OnnxTransfer.Onnx.Proto.TensorProto.Types.DataLocation.External;
        init.ExternalData.Add(new OnnxTransfer.Onnx.Proto.StringStringEntryProto { Key = "location", Value = location });
        if (offset is not null) init.ExternalData.Add(new OnnxTransfer.Onnx.Proto.StringStringEntryProto { Key = "offset", Value = offset });
        if (length is not null) init.ExternalData.Add(new OnnxTransfer.Onnx.Proto.StringStringEntryProto { Key = "length", Value = length });
        model.Save(modelPath);
    }

    /// <summary>The 12 bytes of w = [1,2,3].</summary>
    public static byte[] WeightBytes => [.. BitConverter.GetBytes(1f), .. BitConverter.GetBytes(2f), .. BitConverter.GetBytes(3f)];

    /// <summary>
    /// Asserts that <paramref name="read"/> refuses <paramref name="path"/> within 2 s and 16 MB of allocations, with one
    /// line that names the file and contains <paramref name="reason"/>.
    /// </summary>
    public static void RefusedQuickly(Action read, string path, string reason)
    {
        var before = GC.GetTotalAllocatedBytes(precise: true);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var e = Assert.ThrowsAny<OnnxTransferException>(read);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(2), $"took {clock.Elapsed}");
        Assert.True(GC.GetTotalAllocatedBytes(precise: true) - before < 16 << 20, "allocated more than 16 MB");
        Assert.Contains(path, e.Message);
        Assert.Contains(reason, e.Message, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain('\n', e.Message);
    }

    /// <summary>Creates a FIFO (named pipe).</summary>
    public static string Fifo(string path)
    {
        using var p = Process.Start(new ProcessStartInfo("mkfifo", [path]) { RedirectStandardError = true })!;
        p.WaitForExit();
        Assert.Equal(0, p.ExitCode);
        return path;
    }

    /// <summary>Runs <paramref name="action"/> and fails if it takes longer than <paramref name="seconds"/> (e.g. blocked on a FIFO).</summary>
    public static T Within<T>(Func<T> action, int seconds = 20, string? fifoToRelease = null)
    {
        var task = Task.Run(action);
        if (!task.Wait(TimeSpan.FromSeconds(seconds)))
        {
            // Unblock a reader stuck on the FIFO so the test host does not keep a hung thread.
            if (fifoToRelease is not null) try { File.WriteAllBytes(fifoToRelease, []); } catch (IOException) { }
            Assert.Fail($"hung: no result within {seconds} s");
        }
        return task.GetAwaiter().GetResult();
    }

    /// <summary>Runs <paramref name="action"/>, expecting a user error (never a crash or a hang); returns the message.</summary>
    public static string Refused(Action action, int seconds = 20, string? fifoToRelease = null)
    {
        var e = Within(() =>
        {
            try { action(); return null; }
            catch (OnnxTransferException ote) { return ote; }
            catch (AggregateException ae) when (ae.InnerExceptions is [OnnxTransferException ote]) { return ote; }
        }, seconds, fifoToRelease);
        Assert.True(e is not null, "expected an OnnxTransferException, but it succeeded");
        AssertOneLine(e!.Message);
        return e.Message;
    }

    /// <summary>Runs the CLI in-process as <c>onnxtransfer</c> does; a user error is returned as its message (exit 1), anything else fails the test.</summary>
    public static (int Code, string Output, string? Error) RunCli(params string[] args)
    {
        var output = new StringWriter();
        var config = new InvocationConfiguration { Output = output, Error = new StringWriter(), EnableDefaultExceptionHandler = false };
        try
        {
            var code = CliApp.Build().Parse(args).Invoke(config);
            return (code, output.ToString(), null);
        }
        catch (Exception e) when (Unwrap(e) is OnnxTransferException ote)
        {
            AssertOneLine(ote.Message);
            return (1, output.ToString(), ote.Message);
        }
    }

    public static void AssertOneLine(string message)
    {
        Assert.DoesNotContain('\n', message);
        Assert.DoesNotContain("   at ", message);
        Assert.True(message.Length < 800, $"message too long: {message}");
    }

    public static string Sha256(string path) => Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(path)));

    private static Exception Unwrap(Exception e) =>
        e is AggregateException { InnerExceptions.Count: 1 } a ? Unwrap(a.InnerException!) : e;
}
