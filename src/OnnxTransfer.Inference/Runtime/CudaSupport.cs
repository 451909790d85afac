using Microsoft.ML.OnnxRuntime;

namespace OnnxTransfer.Runtime;

/// <summary>Whether the CUDA execution provider can work here, and if not, what is missing.</summary>
/// <param name="CompiledIn">The loaded ONNX Runtime has the CUDA provider (Microsoft.ML.OnnxRuntime.Gpu).</param>
/// <param name="Usable">A session could use CUDA.</param>
/// <param name="Reason">Why not (empty when usable): names the missing package or libraries and the fix, in one line.</param>
/// <param name="Libraries">The NVIDIA libraries the provider needs, as probed (empty when the provider is not in this build).</param>
/// <param name="CudaMajor">The CUDA major version the provider was built for (read from the provider library), when known.</param>
public sealed record CudaStatus(bool CompiledIn, bool Usable, string Reason, IReadOnlyList<NativeLibraryStatus> Libraries, int? CudaMajor = null);

/// <summary>Checks the CUDA execution provider.</summary>
public static class CudaSupport
{
    /// <summary>ONNX Runtime's name for the CUDA provider.</summary>
    public const string ProviderName = "CUDAExecutionProvider";

    /// <summary>True when the loaded ONNX Runtime native library has the CUDA provider (the app references Microsoft.ML.OnnxRuntime.Gpu).</summary>
    public static bool GpuBuild => CudaSetup.ProviderCompiledIn();

    /// <summary>The ONNX Runtime native package the app runs on, as told by the providers it has.</summary>
    public static string PackageName => GpuBuild ? "Microsoft.ML.OnnxRuntime.Gpu" : "Microsoft.ML.OnnxRuntime";

    /// <summary>How to build the flavour that has the CUDA provider (one clause, for messages).</summary>
    public const string GpuBuildHint =
        "reference Microsoft.ML.OnnxRuntime.Gpu instead of Microsoft.ML.OnnxRuntime in the app (this repository: build with -p:OnnxRuntimeFlavor=Gpu, " +
        "or set ONNXTRANSFER_ORT_FLAVOR=Gpu for tools/onnxtransfer and tools/test)";

    /// <summary>
    /// Checks whether CUDA device <paramref name="deviceId"/> can be used: provider compiled in, the NVIDIA libraries
    /// its provider library needs loadable, provider attachable to a session.
    /// </summary>
    public static CudaStatus Check(int deviceId = 0)
    {
        OnnxRuntimeLog.Configure();
        return Check(deviceId, CudaSetup.Current());
    }

    internal static CudaStatus Check(int deviceId, CudaSetup setup)
    {
        if (!setup.CompiledIn)
            return new CudaStatus(false, false,
                $"this build has no CUDA execution provider ({PackageName} {OrtEnv.Instance().GetVersionString()} is CPU-only); {GpuBuildHint}",
                []);
        if (setup.ProviderLibrary is not { } provider || !File.Exists(provider))
            return new CudaStatus(true, false,
                $"{CudaProviderLibrary.FileName} is missing{(setup.ProviderLibrary is null ? "" : $" from {Path.GetDirectoryName(setup.ProviderLibrary)}")}; " +
                "the Gpu package's native files are incomplete: delete bin/Gpu and obj/Gpu and build the Gpu flavour again",
                []);

        ElfDependencies dependencies;
        try
        {
            dependencies = ElfDynamicSection.Read(provider);
        }
        catch (OnnxTransferException e)
        {
            return new CudaStatus(true, false, e.Message.TrimEnd('.'), []);
        }
        var requirements = CudaRequirements.From(dependencies.Needed);
        var cudaMajor = CudaRequirements.CudaMajor(dependencies.Needed);
        var libraries = requirements.Select(r => Probe(r, setup, provider, dependencies.RunPaths)).ToArray();
        var missing = libraries.Where(l => !l.Found).ToArray();
        if (missing.Length > 0)
            return new CudaStatus(true, false, MissingReason(missing), libraries, cudaMajor);

        using var options = new SessionOptions();
        var error = TryAppend(options, deviceId);
        return new CudaStatus(true, error is null, error ?? "", libraries, cudaMajor);
    }

    // "libcublasLt.so.13, libcudart.so.13 not found: install the CUDA 13 runtime (...); libcudnn.so.9 not found: install cuDNN 9 ...; then ..."
    private static string MissingReason(IEnumerable<NativeLibraryStatus> missing) =>
        string.Join("; ", missing.GroupBy(l => l.Fix).Select(g => $"{string.Join(", ", g.Select(l => l.Library))} not found: {g.Key}")) +
        "; then make the loader find them (LD_LIBRARY_PATH or ldconfig)";

    private static NativeLibraryStatus Probe(CudaRequirement requirement, CudaSetup setup, string provider, IReadOnlyList<string> runPaths)
    {
        var status = setup.Probe(requirement.Library);
        if (!status.Found)
        {
            // The provider's own RUNPATH (e.g. $ORIGIN) is searched when ONNX Runtime loads it; dlopen from here is not.
            var origin = Path.GetDirectoryName(provider)!;
            var beside = runPaths.Select(p => Path.Combine(p.Replace("$ORIGIN", origin).Replace("${ORIGIN}", origin), requirement.Library))
                .FirstOrDefault(File.Exists);
            if (beside is not null) status = new NativeLibraryStatus(requirement.Library, true, requirement.Library, beside);
        }
        return status with { Library = requirement.Library, Fix = status.Found ? "" : requirement.Fix };
    }

    /// <summary>Appends the CUDA provider; returns null on success or the reason it failed.</summary>
    internal static string? TryAppend(SessionOptions options, int deviceId)
    {
        try
        {
            options.AppendExecutionProvider_CUDA(deviceId);
            return null;
        }
        catch (EntryPointNotFoundException)
        {
            return $"this build has no CUDA execution provider ({PackageName} is CPU-only); {GpuBuildHint}";
        }
        catch (OnnxRuntimeException e)
        {
            return $"ONNX Runtime could not start CUDA device {deviceId} ({FirstLine(e.Message)})";
        }
    }

    internal static string FirstLine(string s)
    {
        var i = s.IndexOfAny(['\r', '\n']);
        return (i < 0 ? s : s[..i]).Trim().TrimEnd('.');
    }
}
