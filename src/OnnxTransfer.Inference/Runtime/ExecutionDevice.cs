using System.Globalization;

namespace OnnxTransfer.Runtime;

/// <summary>Which kind of device a session should run on.</summary>
public enum DeviceKind
{
    /// <summary>CUDA when usable, otherwise CPU (with a warning).</summary>
    Auto,
    /// <summary>The CPU execution provider.</summary>
    Cpu,
    /// <summary>The CUDA execution provider (Microsoft.ML.OnnxRuntime.Gpu build).</summary>
    Cuda,
    /// <summary>A named execution provider (<c>--ep NAME[:key=value,...]</c>), compiled in or loaded from a plugin library.</summary>
    Provider,
}

/// <summary>
/// Where ONNX Runtime sessions run. Text forms: <c>auto</c>, <c>cpu</c>, <c>cuda</c>, <c>cuda:N</c> (from <c>--device</c>)
/// and <c>ep:NAME[:key=value,...]</c> (from <c>--ep NAME[:key=value,...]</c>, see <see cref="ParseProvider"/>). The
/// provider option <c>library=PATH</c> loads a plugin execution provider from a shared library.
/// </summary>
/// <param name="Kind">Device kind.</param>
/// <param name="DeviceId">GPU ordinal for CUDA.</param>
/// <param name="Provider">Execution provider name for <see cref="DeviceKind.Provider"/>.</param>
/// <param name="ProviderOptions">Provider options (<c>key=value</c>), including <c>library</c> for plugin providers.</param>
public sealed record ExecutionDevice(DeviceKind Kind, int DeviceId = 0, string? Provider = null,
    IReadOnlyDictionary<string, string>? ProviderOptions = null)
{
    /// <summary>Provider option naming a plugin EP shared library.</summary>
    public const string LibraryOption = "library";

    /// <summary>CPU.</summary>
    public static ExecutionDevice Cpu { get; } = new(DeviceKind.Cpu);

    /// <summary>CUDA when usable, else CPU.</summary>
    public static ExecutionDevice Auto { get; } = new(DeviceKind.Auto);

    /// <summary>CUDA device <paramref name="id"/>.</summary>
    public static ExecutionDevice Cuda(int id = 0) => new(DeviceKind.Cuda, id);

    /// <summary>Options of a named provider, never null.</summary>
    public IReadOnlyDictionary<string, string> Options => ProviderOptions ?? new Dictionary<string, string>();

    /// <summary>The plugin library path, when given.</summary>
    public string? Library => Options.GetValueOrDefault(LibraryOption);

    /// <summary>Parses <c>auto|cpu|cuda[:N]|ep:NAME[:key=value,...]</c>.</summary>
    /// <exception cref="OnnxTransferException">Anything else (one line with the accepted forms).</exception>
    public static ExecutionDevice Parse(string text)
    {
        var t = (text ?? "").Trim();
        if (t.StartsWith("ep:", StringComparison.OrdinalIgnoreCase)) return ParseProvider(t[3..]);
        var parts = t.Split(':', 2);
        var kind = parts[0].ToLowerInvariant();
        switch (kind)
        {
            case "auto" when parts.Length == 1: return Auto;
            case "cpu" when parts.Length == 1: return Cpu;
            case "cuda" or "gpu":
                if (parts.Length == 1) return Cuda();
                if (int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var id)) return Cuda(id);
                throw new OnnxTransferException($"--device '{text}': the CUDA device must be a number, e.g. cuda:0.");
            default:
                throw new OnnxTransferException($"--device '{text}': expected auto, cpu, cuda or cuda:N (or --ep NAME[:key=value,...]).");
        }
    }

    /// <summary>Parses an <c>--ep</c> value: <c>NAME[:key=value,...]</c>, e.g. <c>XNNPACK:intra_op_num_threads=2</c> or <c>MyEp:library=/opt/libmy_ep.so</c>.</summary>
    public static ExecutionDevice ParseProvider(string text)
    {
        var t = (text ?? "").Trim();
        var parts = t.Split(':', 2);
        var name = parts[0].Trim();
        if (name.Length == 0)
            throw new OnnxTransferException($"--ep '{text}': give a provider name, e.g. --ep XNNPACK or --ep NAME:library=/path/libprovider.so.");
        var options = new SortedDictionary<string, string>(StringComparer.Ordinal);
        if (parts.Length == 2)
        {
            foreach (var pair in parts[1].Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            {
                var kv = pair.Split('=', 2, StringSplitOptions.TrimEntries);
                if (kv.Length != 2 || kv[0].Length == 0)
                    throw new OnnxTransferException($"--ep '{text}': option '{pair}' is not key=value.");
                options[kv[0]] = kv[1];
            }
        }
        // CPU and CUDA have dedicated forms; accept their EP names as synonyms.
        switch (name.ToLowerInvariant())
        {
            case "cpu" or "cpuexecutionprovider" when options.Count == 0: return Cpu;
            case "cuda" or "cudaexecutionprovider" when options.Keys.All(k => k == "device_id"):
                return Cuda(options.TryGetValue("device_id", out var d) && int.TryParse(d, CultureInfo.InvariantCulture, out var id) ? id : 0);
        }
        return new ExecutionDevice(DeviceKind.Provider, 0, name, options);
    }

    /// <summary>Combines <c>--device</c> and <c>--ep</c>: the provider wins when given.</summary>
    public static ExecutionDevice FromOptions(string? device, string? ep) =>
        !string.IsNullOrWhiteSpace(ep) ? ParseProvider(ep) : string.IsNullOrWhiteSpace(device) ? Auto : Parse(device);

    /// <summary>The text form (round-trips through <see cref="Parse"/>).</summary>
    public override string ToString() => Kind switch
    {
        DeviceKind.Auto => "auto",
        DeviceKind.Cpu => "cpu",
        DeviceKind.Cuda => $"cuda:{DeviceId.ToString(CultureInfo.InvariantCulture)}",
        _ => Options.Count == 0 ? $"ep:{Provider}" : $"ep:{Provider}:{string.Join(',', Options.OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => $"{kv.Key}={kv.Value}"))}",
    };

    /// <inheritdoc />
    public bool Equals(ExecutionDevice? other) => other is not null && ToString() == other.ToString();

    /// <inheritdoc />
    public override int GetHashCode() => ToString().GetHashCode(StringComparison.Ordinal);
}
