using System.Reflection;

namespace OnnxTransfer;

/// <summary>Identity of this toolkit, written into every artifact it makes.</summary>
public static class ToolInfo
{
    /// <summary>The toolkit's version (assembly informational version without build metadata).</summary>
    public static string Version { get; } =
        (typeof(ToolInfo).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "0.0.0")
        .Split('+')[0];

    /// <summary>The ONNX Runtime package version this build was compiled against (the native library loaded may differ: see doctor).</summary>
    public static string OnnxRuntimeBuildVersion { get; } = Metadata("OnnxRuntimeVersion") ?? "unknown";

    /// <summary>The ONNX Runtime flavour the app runs on: Gpu when the loaded native library has the CUDA provider, else Cpu.</summary>
    public static string OnnxRuntimeFlavor => Runtime.CudaSupport.GpuBuild ? "Gpu" : "Cpu";

    private static string? Metadata(string key) =>
        typeof(ToolInfo).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().FirstOrDefault(a => a.Key == key)?.Value;

    /// <summary>"OnnxTransfer x.y.z".</summary>
    public static string NameAndVersion => $"OnnxTransfer {Version}";
}
