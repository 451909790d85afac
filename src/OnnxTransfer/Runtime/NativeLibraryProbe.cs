using System.Runtime.InteropServices;

namespace OnnxTransfer.Runtime;

/// <summary>Whether a native library could be loaded (as the dynamic loader would find it).</summary>
/// <param name="Library">What was looked for, e.g. "libcudart".</param>
/// <param name="Found">True when one of the candidate names loaded.</param>
/// <param name="LoadedAs">The name that loaded.</param>
/// <param name="Path">Full path of the loaded file when it can be told (Linux).</param>
public sealed record NativeLibraryStatus(string Library, bool Found, string? LoadedAs, string? Path);

/// <summary>Probes the GPU libraries ONNX Runtime's CUDA provider needs, by loading them (dlopen).</summary>
public static class NativeLibraryProbe
{
    /// <summary>The CUDA libraries the CUDA execution provider loads, with the file names tried for each.</summary>
    public static IReadOnlyList<(string Library, string[] Names)> CudaLibraries { get; } =
    [
        ("libcudart", ["libcudart.so.12", "libcudart.so.13", "libcudart.so.11.0", "libcudart.so", "cudart64_12.dll"]),
        ("libcudnn", ["libcudnn.so.9", "libcudnn.so.8", "libcudnn.so", "cudnn64_9.dll"]),
        ("libcublas", ["libcublas.so.12", "libcublas.so.13", "libcublas.so.11", "libcublas.so", "cublas64_12.dll"]),
        ("libcublasLt", ["libcublasLt.so.12", "libcublasLt.so.13", "libcublasLt.so.11", "libcublasLt.so", "cublasLt64_12.dll"]),
        ("libcufft", ["libcufft.so.11", "libcufft.so.12", "libcufft.so.10", "libcufft.so", "cufft64_11.dll"]),
        ("libcurand", ["libcurand.so.10", "libcurand.so", "curand64_10.dll"]),
    ];

    /// <summary>Probes every library in <see cref="CudaLibraries"/>.</summary>
    public static IReadOnlyList<NativeLibraryStatus> ProbeCuda() => CudaLibraries.Select(l => Probe(l.Library, l.Names)).ToArray();

    /// <summary>Tries each of <paramref name="names"/> in turn; the first that loads wins.</summary>
    public static NativeLibraryStatus Probe(string library, IEnumerable<string> names)
    {
        foreach (var name in names)
        {
            if (!NativeLibrary.TryLoad(name, out var handle)) continue;
            var path = LoadedPath(name);
            NativeLibrary.Free(handle);
            return new NativeLibraryStatus(library, true, name, path);
        }
        return new NativeLibraryStatus(library, false, null, null);
    }

    // /proc/self/maps lists every mapped file; the loaded library is among them while we hold the handle.
    private static string? LoadedPath(string name)
    {
        if (!OperatingSystem.IsLinux()) return null;
        try
        {
            var stem = name.Split(".so")[0] + ".so";
            return File.ReadLines("/proc/self/maps")
                .Select(l => l.IndexOf('/') is var i and >= 0 ? l[i..].Trim() : null)
                .FirstOrDefault(p => p is not null && System.IO.Path.GetFileName(p).StartsWith(stem, StringComparison.Ordinal));
        }
        catch (IOException) { return null; }
        catch (UnauthorizedAccessException) { return null; }
    }
}
