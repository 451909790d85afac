using Microsoft.ML.OnnxRuntime;

namespace OnnxTransfer.Runtime;

/// <summary>Whether the CUDA execution provider can work here, and if not, what is missing.</summary>
/// <param name="CompiledIn">The loaded ONNX Runtime has the CUDA provider (Microsoft.ML.OnnxRuntime.Gpu).</param>
/// <param name="Usable">A session could use CUDA.</param>
/// <param name="Reason">Why not (empty when usable): names the missing package or library and the fix.</param>
/// <param name="Libraries">The CUDA libraries probed.</param>
public sealed record CudaStatus(bool CompiledIn, bool Usable, string Reason, IReadOnlyList<NativeLibraryStatus> Libraries);

/// <summary>Checks the CUDA execution provider.</summary>
public static class CudaSupport
{
    /// <summary>ONNX Runtime's name for the CUDA provider.</summary>
    public const string ProviderName = "CUDAExecutionProvider";

    /// <summary>True when this assembly was built against Microsoft.ML.OnnxRuntime.Gpu.</summary>
    public static bool GpuBuild =>
#if ORT_GPU
        true;
#else
        false;
#endif

    /// <summary>The ORT package this build uses.</summary>
    public static string PackageName => GpuBuild ? "Microsoft.ML.OnnxRuntime.Gpu" : "Microsoft.ML.OnnxRuntime";

    /// <summary>
    /// Checks whether CUDA device <paramref name="deviceId"/> can be used: provider compiled in, CUDA/cuDNN libraries
    /// loadable, provider attachable to a session.
    /// </summary>
    public static CudaStatus Check(int deviceId = 0)
    {
        var libraries = NativeLibraryProbe.ProbeCuda();
        var compiledIn = OrtEnv.Instance().GetAvailableProviders().Contains(ProviderName);
        if (!compiledIn)
            return new CudaStatus(false, false,
                $"this build has no CUDA execution provider ({PackageName} {OrtEnv.Instance().GetVersionString()} is CPU-only); " +
                "rebuild with -p:OnnxRuntimeFlavor=Gpu (package Microsoft.ML.OnnxRuntime.Gpu) on a machine with the CUDA 12 runtime and cuDNN 9",
                libraries);
        var missing = libraries.Where(l => !l.Found).Select(l => l.Library).ToArray();
        if (missing.Length > 0)
            return new CudaStatus(true, false,
                $"{string.Join(", ", missing)} not found on the library path; install the CUDA 12 runtime and cuDNN 9 " +
                "and add their folders to LD_LIBRARY_PATH", libraries);
        using var options = new SessionOptions();
        var error = TryAppend(options, deviceId);
        return new CudaStatus(true, error is null, error ?? "", libraries);
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
            return $"this build has no CUDA execution provider ({PackageName} is CPU-only); rebuild with -p:OnnxRuntimeFlavor=Gpu";
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
