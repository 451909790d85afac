using System.Runtime.InteropServices;
using Microsoft.ML.OnnxRuntime;
using OnnxTransfer.Backbones;
using OnnxTransfer.Onnx;
using DataType = OnnxTransfer.Onnx.Proto.TensorProto.Types.DataType;

using OnnxTransfer.Runtime;

namespace OnnxTransfer.Diagnostics;

/// <summary>Whether one execution provider could run a tiny model.</summary>
/// <param name="Name">Provider name.</param>
/// <param name="Usable">A session on it ran.</param>
/// <param name="Detail">"ok" or why not.</param>
public sealed record ProviderCheck(string Name, bool Usable, string Detail);

/// <summary>Cache state of one known backbone.</summary>
/// <param name="Name">Backbone name.</param>
/// <param name="Cached">All files present in the cache.</param>
/// <param name="Folder">Its cache folder.</param>
public sealed record CachedBackbone(string Name, bool Cached, string Folder);

/// <summary>What <c>onnxtransfer doctor</c> reports.</summary>
public sealed record DoctorReport(
    string Tool,
    string OnnxRuntimeVersion,
    string OnnxRuntimePackage,
    string OnnxRuntimeBuildVersion,
    bool OnnxRuntimeLogRouted,
    string Os,
    string Architecture,
    int ProcessorCount,
    IReadOnlyList<string> CompiledProviders,
    IReadOnlyList<ProviderCheck> Providers,
    bool CudaUsable,
    string CudaReason,
    IReadOnlyList<NativeLibraryStatus> CudaLibraries,
    int? CudaMajor,
    string CacheDir,
    IReadOnlyList<string> Mirrors,
    bool NetworkAllowed,
    string NpmRegistry,
    IReadOnlyList<CachedBackbone> Backbones)
{
    /// <summary>The report as indented snake_case JSON.</summary>
    public string ToJson() => JsonText.Write(this, DiagnosticsJson.Default.DoctorReport);
}

/// <summary>Checks the runtime environment: ONNX Runtime, execution providers, CUDA libraries, backbone cache.</summary>
public static class Doctor
{
    /// <summary>Runs every check (a few tiny sessions; well under a second on CPU).</summary>
    public static DoctorReport Run(BackboneRegistry registry)
    {
        OnnxRuntimeLog.Configure();
        var env = OrtEnv.Instance();
        var compiled = env.GetAvailableProviders();
        var cuda = CudaSupport.Check();
        var checks = compiled.Select(p => CheckProvider(p, cuda)).ToArray();
        return new DoctorReport(
            ToolInfo.NameAndVersion,
            env.GetVersionString(),
            CudaSupport.PackageName,
            ToolInfo.OnnxRuntimeBuildVersion,
            OnnxRuntimeLog.IsRouted,
            RuntimeInformation.OSDescription,
            RuntimeInformation.ProcessArchitecture.ToString().ToLowerInvariant(),
            Environment.ProcessorCount,
            compiled,
            // CUDA is listed even when not compiled in: "is my GPU used?" is the question people run doctor for.
            compiled.Contains(CudaSupport.ProviderName) ? checks : [.. checks, new ProviderCheck(CudaSupport.ProviderName, false, cuda.Reason)],
            cuda.Usable && checks.Any(c => c.Name == CudaSupport.ProviderName && c.Usable),
            cuda.Usable ? "" : cuda.Reason,
            cuda.Libraries,
            cuda.CudaMajor,
            registry.Locations.CacheDir,
            registry.Locations.Mirrors,
            registry.Locations.AllowNetwork,
            registry.Locations.NpmRegistry,
            registry.CacheStates().Select(s => new CachedBackbone(s.Manifest.Name, s.Cached, s.Folder)).ToArray());
    }

    /// <summary>A one-node model (y = x + b) that every provider can run.</summary>
    public static byte[] ProbeModel()
    {
        var model = OnnxModel.Create("probe", 13);
        var g = new GraphBuilder(model.Graph);
        var x = g.Input("x", DataType.Float, [1, 4]);
        var b = g.Initializer("b", [1f, 2f, 3f, 4f], 1, 4);
        var y = g.Node("Add", [x, b]);
        g.Alias(y, "y");
        g.Output("y", DataType.Float, [1, 4]);
        return model.ToBytes();
    }

    private static ProviderCheck CheckProvider(string provider, CudaStatus cuda)
    {
        ExecutionDevice device;
        if (provider == SessionFactory.CpuProvider) device = ExecutionDevice.Cpu;
        else if (provider == CudaSupport.ProviderName)
        {
            if (!cuda.Usable) return new ProviderCheck(provider, false, cuda.Reason);
            device = ExecutionDevice.Cuda();
        }
        else device = ExecutionDevice.ParseProvider(provider);

        try
        {
            using var factory = SessionFactory.Create(device, SessionSettings.Default with { IntraOpThreads = 1 });
            using var session = factory.CreateSession(ProbeModel());
            using var x = OrtValue.CreateTensorValueFromMemory(new float[] { 1, 1, 1, 1 }, [1, 4]);
            using var runOptions = new RunOptions();
            using var results = session.Run(runOptions, ["x"], [x], ["y"]);
            var y = results[0].GetTensorDataAsSpan<float>().ToArray();
            return y.SequenceEqual([2f, 3f, 4f, 5f])
                ? new ProviderCheck(provider, true, "ok")
                : new ProviderCheck(provider, false, $"wrong result {string.Join(",", y)} for 1+[1,2,3,4]");
        }
        catch (Exception e) when (e is OnnxTransferException or OnnxRuntimeException)
        {
            return new ProviderCheck(provider, false, CudaSupport.FirstLine(e.Message));
        }
    }
}
