using OnnxTransfer.Backbones;
using OnnxTransfer.Runtime;

namespace OnnxTransfer.Hosting;

/// <summary>
/// How a hosted app loads its model, bound from configuration (section <c>TransferModel</c> by convention:
/// <c>appsettings.json</c>, or environment variables such as <c>TransferModel__ModelPath</c>).
/// </summary>
public sealed class TransferModelOptions
{
    /// <summary>The conventional configuration section.</summary>
    public const string SectionName = "TransferModel";

    /// <summary>The model exported by <c>onnxtransfer export</c> (or <c>fit</c>); a relative path is taken from the current folder.</summary>
    public string ModelPath { get; set; } = "";

    /// <summary><c>cpu</c> (default), <c>cuda</c>, <c>cuda:N</c>, <c>auto</c> (CUDA when usable, else CPU with a logged warning) or <c>ep:NAME[:key=value,...]</c>.</summary>
    public string Device { get; set; } = "cpu";

    /// <summary>Intra-op threads of each prediction; 0 = one per core. With many concurrent requests 1–2 usually serve more in total.</summary>
    public int Threads { get; set; }

    /// <summary>
    /// Folders holding backbone files (a speech model's front end), separated by ':' like <c>ONNXTRANSFER_MIRROR</c>;
    /// when set, it replaces that variable. Image models need no backbone files.
    /// </summary>
    public string? ModelMirror { get; set; }

    /// <summary>The folder backbone files are cached in; when set, it replaces <c>ONNXTRANSFER_HOME</c>.</summary>
    public string? CacheFolder { get; set; }

    /// <summary>Never download backbone files (cache and mirrors only); <c>ONNXTRANSFER_OFFLINE=1</c> also forbids downloads.</summary>
    public bool Offline { get; set; }

    /// <summary>The parsed <see cref="Device"/>.</summary>
    /// <exception cref="OnnxTransferException">Not one of the accepted forms.</exception>
    public ExecutionDevice ToExecutionDevice() => ExecutionDevice.Parse(Device);

    /// <summary>Session settings: <see cref="Threads"/> intra-op threads, the library's defaults otherwise.</summary>
    public SessionSettings ToSessionSettings() => new(IntraOpThreads: Threads);

    /// <summary>Where backbone files are looked for: the environment's locations with <see cref="CacheFolder"/>, <see cref="ModelMirror"/> and <see cref="Offline"/> applied.</summary>
    public BackboneLocations ToBackboneLocations()
    {
        var locations = BackboneLocations.FromEnvironment();
        if (!string.IsNullOrWhiteSpace(CacheFolder)) locations = locations with { CacheDir = Path.GetFullPath(CacheFolder) };
        if (!string.IsNullOrWhiteSpace(ModelMirror)) locations = locations with { Mirrors = BackboneLocations.ParseMirrors(ModelMirror) };
        if (Offline) locations = locations with { AllowNetwork = false };
        return locations;
    }
}
