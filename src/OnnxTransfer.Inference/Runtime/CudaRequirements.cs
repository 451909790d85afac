using System.Globalization;
using System.Text.RegularExpressions;

namespace OnnxTransfer.Runtime;

/// <summary>One NVIDIA library the CUDA execution provider needs, and how to install it.</summary>
/// <param name="Library">The file name the loader looks for, e.g. <c>libcublasLt.so.13</c>.</param>
/// <param name="Fix">What to install when it is missing, e.g. "install the CUDA 13 runtime (...)".</param>
internal sealed record CudaRequirement(string Library, string Fix);

/// <summary>
/// Turns the CUDA provider library's dependencies into the NVIDIA libraries to look for. The CUDA major version comes
/// from the provider itself (the <c>libcudart.so.N</c> / <c>libcublas.so.N</c> it links), never from a constant.
/// </summary>
internal static partial class CudaRequirements
{
    /// <summary>
    /// cuDNN's major version for ONNX Runtime's CUDA provider. The provider opens cuDNN with dlopen at first use, so
    /// it is not in its dynamic section; every ORT release since 1.19 (the pinned one included) uses cuDNN 9.
    /// </summary>
    public const int CudnnMajor = 9;

    /// <summary>The NVIDIA libraries among <paramref name="needed"/> (DT_NEEDED of the provider), plus cuDNN.</summary>
    public static IReadOnlyList<CudaRequirement> From(IEnumerable<string> needed)
    {
        var nvidia = needed.Where(IsNvidia).Distinct(StringComparer.Ordinal).ToList();
        var cuda = CudaMajor(nvidia);
        var cudnn = $"libcudnn.so.{CudnnMajor}";
        if (!nvidia.Any(n => n.StartsWith("libcudnn.so", StringComparison.Ordinal))) nvidia.Add(cudnn);
        return nvidia.Select(n => new CudaRequirement(n, FixFor(n, cuda))).ToArray();
    }

    /// <summary>The CUDA major version the libraries name (from libcudart, else libcublas/libcublasLt), or null.</summary>
    public static int? CudaMajor(IEnumerable<string> libraries)
    {
        int? fallback = null;
        foreach (var name in libraries)
        {
            var m = RuntimeLibrary().Match(name);
            if (!m.Success) continue;
            var major = int.Parse(m.Groups["major"].Value, CultureInfo.InvariantCulture);
            if (m.Groups["lib"].Value == "cudart") return major;
            fallback ??= major;
        }
        return fallback;
    }

    private static bool IsNvidia(string name) =>
        name.StartsWith("libcu", StringComparison.Ordinal) || name.StartsWith("libnv", StringComparison.Ordinal);

    private static string FixFor(string library, int? cuda)
    {
        var cudaText = cuda is { } c ? $"CUDA {c}" : "CUDA";
        if (library.StartsWith("libcuda.so", StringComparison.Ordinal))
            return "install the NVIDIA driver (in a container, start it with GPU access, e.g. docker run --gpus all)";
        if (library.StartsWith("libcudnn", StringComparison.Ordinal))
            return cuda is { } cm
                ? $"install cuDNN {CudnnMajor} for CUDA {cm} (apt: libcudnn{CudnnMajor}-cuda-{cm})"
                : $"install cuDNN {CudnnMajor}";
        return cuda is { } m
            ? $"install the {cudaText} runtime (apt: cuda-libraries-{m}-x, x being the minor version)"
            : $"install the {cudaText} runtime that provides it";
    }

    // libcudart.so.13, libcublas.so.13, libcublasLt.so.13: their major version is CUDA's (libcufft/libcurand number their own).
    [GeneratedRegex(@"^lib(?<lib>cudart|cublas|cublasLt)\.so\.(?<major>\d+)")]
    private static partial Regex RuntimeLibrary();
}
