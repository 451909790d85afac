using Microsoft.ML.OnnxRuntime;

namespace OnnxTransfer.Runtime;

/// <summary>Finds ONNX Runtime's CUDA provider library, which ONNX Runtime loads from the folder of its own library.</summary>
internal static class CudaProviderLibrary
{
    /// <summary>The provider's file name on Linux.</summary>
    public const string FileName = "libonnxruntime_providers_cuda.so";

    /// <summary>The folder ONNX Runtime's native library was loaded from (Linux; null when it cannot be told).</summary>
    public static string? RuntimeFolder()
    {
        _ = OrtEnv.Instance(); // loads libonnxruntime.so
        var loaded = NativeLibraryProbe.MappedPath("libonnxruntime.so");
        if (loaded is not null) return Path.GetDirectoryName(loaded);
        // Not mapped under that name (another OS): the folders the .NET host searches for native assets.
        var searched = (AppContext.GetData("NATIVE_DLL_SEARCH_DIRECTORIES") as string ?? "")
            .Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries);
        return searched.FirstOrDefault(d => File.Exists(Path.Combine(d, FileName)));
    }

    /// <summary>Where the provider library should be: beside ONNX Runtime's own library.</summary>
    public static string? ExpectedPath() => RuntimeFolder() is { } folder ? Path.Combine(folder, FileName) : null;
}
