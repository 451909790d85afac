using Microsoft.ML.OnnxRuntime;

namespace OnnxTransfer.Runtime;

/// <summary>What <see cref="CudaSupport.Check(int, CudaSetup)"/> inspects; tests substitute a fake provider and loader.</summary>
/// <param name="CompiledIn">The loaded ONNX Runtime lists the CUDA provider (the Gpu package).</param>
/// <param name="ProviderLibrary">Path of <c>libonnxruntime_providers_cuda.so</c> (may not exist), or null when unknown.</param>
/// <param name="Probe">Loads one library by file name, as the dynamic loader would.</param>
internal sealed record CudaSetup(bool CompiledIn, string? ProviderLibrary, Func<string, NativeLibraryStatus> Probe)
{
    /// <summary>This process: the loaded ONNX Runtime, its provider file and the real dynamic loader.</summary>
    public static CudaSetup Current()
    {
        var compiledIn = ProviderCompiledIn();
        return new CudaSetup(compiledIn, compiledIn ? CudaProviderLibrary.ExpectedPath() : null,
            name => NativeLibraryProbe.Probe(name, [name]));
    }

    /// <summary>The loaded ONNX Runtime native library lists the CUDA provider.</summary>
    public static bool ProviderCompiledIn() => OrtEnv.Instance().GetAvailableProviders().Contains(CudaSupport.ProviderName);
}
