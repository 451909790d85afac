using System.Reflection;

namespace OnnxTransfer;

/// <summary>Identity of this toolkit, written into every artifact it makes.</summary>
public static class ToolInfo
{
    /// <summary>The toolkit's version (assembly informational version without build metadata).</summary>
    public static string Version { get; } =
        (typeof(ToolInfo).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "0.0.0")
        .Split('+')[0];

    /// <summary>"OnnxTransfer x.y.z".</summary>
    public static string NameAndVersion => $"OnnxTransfer {Version}";
}
