using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.ML.OnnxRuntime;

namespace OnnxTransfer.Runtime;

/// <summary>
/// Creates <see cref="InferenceSession"/>s on an <see cref="ExecutionDevice"/> with <see cref="SessionSettings"/>, and tells
/// which execution provider they actually use. <c>auto</c> falls back to CPU and records a one-line
/// <see cref="Warning"/> (also logged as a warning to the factory's <see cref="ILogger"/>, when one is given); an
/// explicit device that cannot work throws an error naming what is missing.
/// </summary>
public sealed class SessionFactory : IDisposable
{
    /// <summary>ONNX Runtime's name for the CPU provider.</summary>
    public const string CpuProvider = "CPUExecutionProvider";

    // Plugin libraries registered with the process-wide OrtEnv (registering a name twice is an error).
    private static readonly ConcurrentDictionary<string, string> RegisteredLibraries = new(StringComparer.Ordinal);
    private static readonly object RegistrationGate = new();

    private SessionOptions _options;
    private ILogger _logger = NullLogger.Instance;

    private SessionFactory(ExecutionDevice device, SessionSettings settings, SessionOptions options, string provider, string? warning)
    {
        Device = device;
        Settings = settings;
        _options = options;
        Provider = provider;
        Warning = warning;
    }

    /// <summary>The device asked for.</summary>
    public ExecutionDevice Device { get; }

    /// <summary>Threading and optimisation settings.</summary>
    public SessionSettings Settings { get; }

    /// <summary>The execution provider sessions use first, e.g. CPUExecutionProvider or CUDAExecutionProvider.</summary>
    public string Provider { get; private set; }

    /// <summary>One line saying why <c>auto</c> fell back to CPU, or null.</summary>
    public string? Warning { get; private set; }

    /// <summary>The options sessions are created with (owned by this factory).</summary>
    public SessionOptions Options
    {
        get
        {
            _guard.ThrowIfClosed();
            return _options;
        }
    }

    /// <summary>Prepares session options for <paramref name="device"/>; a fallback to CPU is logged to <paramref name="logger"/>.</summary>
    /// <exception cref="OnnxTransferException">An explicit device or provider that cannot be used here.</exception>
    public static SessionFactory Create(ExecutionDevice device, SessionSettings? settings = null, ILogger? logger = null) =>
        Create(device, settings, CudaSupport.Check, logger);

    /// <summary>As <see cref="Create(ExecutionDevice, SessionSettings?, ILogger?)"/>, with the CUDA check given (tests fake a machine).</summary>
    internal static SessionFactory Create(ExecutionDevice device, SessionSettings? settings, Func<int, CudaStatus> checkCuda, ILogger? logger = null)
    {
        var factory = CreateUnlogged(device, settings, checkCuda);
        factory._logger = logger ?? NullLogger.Instance;
        if (factory.Warning is { } warning) factory.LogFallback(warning);
        return factory;
    }

    private static SessionFactory CreateUnlogged(ExecutionDevice device, SessionSettings? settings, Func<int, CudaStatus> checkCuda)
    {
        OnnxRuntimeLog.Configure();
        settings ??= SessionSettings.Default;
        var options = NewOptions(settings);
        try
        {
            switch (device.Kind)
            {
                case DeviceKind.Cpu:
                    return new SessionFactory(device, settings, options, CpuProvider, null);

                case DeviceKind.Cuda:
                {
                    var status = checkCuda(device.DeviceId);
                    var error = status.Usable ? CudaSupport.TryAppend(options, device.DeviceId) : status.Reason;
                    if (error is not null)
                        throw new OnnxTransferException($"--device {device}: CUDA is not usable: {error}.");
                    return new SessionFactory(device, settings, options, CudaSupport.ProviderName, null);
                }

                case DeviceKind.Auto:
                {
                    var status = checkCuda(device.DeviceId);
                    var error = status.Usable ? CudaSupport.TryAppend(options, device.DeviceId) : status.Reason;
                    if (error is null)
                        return new SessionFactory(device, settings, options, CudaSupport.ProviderName, null);
                    options.Dispose();
                    options = NewOptions(settings);
                    return new SessionFactory(device, settings, options, CpuProvider, $"CUDA not used ({error}); running on CPU.");
                }

                default:
                    var provider = AppendProvider(options, device);
                    return new SessionFactory(device, settings, options, provider, null);
            }
        }
        catch
        {
            options.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Session options for training graphs on <paramref name="device"/>: <paramref name="threads"/> intra-op threads, one
    /// inter-op thread, sequential execution, so a seed reproduces a run bit for bit at a fixed thread count.
    /// </summary>
    public static SessionFactory ForTraining(ExecutionDevice device, int threads) =>
        Create(device, new SessionSettings(IntraOpThreads: Math.Max(1, threads), InterOpThreads: 1));

    /// <summary>Sessions this factory has created so far (what a caller can check reached its device).</summary>
    public int SessionsCreated => _created;

    private int _created;

    /// <summary>Creates a session for the model file at <paramref name="modelPath"/>.</summary>
    public InferenceSession CreateSession(string modelPath) => CreateSession(o => new InferenceSession(modelPath, o), modelPath);

    /// <summary>Creates a session for a serialized model.</summary>
    public InferenceSession CreateSession(byte[] model) => CreateSession(o => new InferenceSession(model, o), "<memory>");

    private InferenceSession CreateSession(Func<SessionOptions, InferenceSession> create, string name)
    {
        using var lease = _guard.Enter();
        Interlocked.Increment(ref _created);
        try
        {
            return create(_options);
        }
        catch (OnnxRuntimeException e) when (Device.Kind == DeviceKind.Auto && Provider != CpuProvider)
        {
            // auto: a provider that attached but cannot build this session (e.g. out of GPU memory) falls back to CPU.
            _options.Dispose();
            _options = NewOptions(Settings);
            Warning = $"CUDA not used ({CudaSupport.FirstLine(e.Message)}); running on CPU.";
            Provider = CpuProvider;
            LogFallback(Warning);
            return create(_options);
        }
        catch (OnnxRuntimeException e)
        {
            throw new OnnxTransferException($"{name}: ONNX Runtime could not create a session on {Device} ({CudaSupport.FirstLine(e.Message)}).", e);
        }
    }

    private readonly ResourceGuard _guard = new(nameof(SessionFactory));

    /// <summary>Waits for sessions being created on other threads, then frees the options (sessions already created live on).</summary>
    public void Dispose()
    {
        if (_guard.Close()) _options.Dispose();
    }

    private void LogFallback(string warning) =>
        _logger.LogWarning("Device {Device} fell back to {Provider}: {Warning}", Device, Provider, warning);

    private static SessionOptions NewOptions(SessionSettings settings)
    {
        var options = new SessionOptions();
        settings.ApplyTo(options);
        return options;
    }

    // Named providers: a plugin library (library=PATH) goes through the EP-device API; a compiled-in provider is
    // appended by name.
    private static string AppendProvider(SessionOptions options, ExecutionDevice device)
    {
        var name = device.Provider!;
        var providerOptions = device.Options.Where(kv => kv.Key != ExecutionDevice.LibraryOption)
            .ToDictionary(kv => kv.Key, kv => kv.Value);
        if (device.Library is { } library)
        {
            var env = OrtEnv.Instance();
            var devices = RegisterPlugin(env, name, library);
            try
            {
                options.AppendExecutionProvider(env, devices, providerOptions);
            }
            catch (OnnxRuntimeException e)
            {
                throw new OnnxTransferException($"--ep {name}: the provider from {library} rejected its options ({CudaSupport.FirstLine(e.Message)}).", e);
            }
            return devices[0].EpName;
        }

        var available = OrtEnv.Instance().GetAvailableProviders();
        var fullName = available.FirstOrDefault(p =>
            string.Equals(p, name, StringComparison.OrdinalIgnoreCase) ||
            string.Equals(p, name + "ExecutionProvider", StringComparison.OrdinalIgnoreCase));
        if (fullName is null)
            throw new OnnxTransferException(
                $"--ep {name}: this ONNX Runtime build ({CudaSupport.PackageName}) has no such provider (available: {string.Join(", ", available)}); " +
                $"give its plugin library with --ep {name}:library=/path/to/libprovider.so.");
        if (fullName == CpuProvider) return CpuProvider;
        var shortName = fullName.EndsWith("ExecutionProvider", StringComparison.Ordinal) ? fullName[..^"ExecutionProvider".Length] : fullName;
        var deviceId = providerOptions.TryGetValue("device_id", out var idText) && int.TryParse(idText, out var id) ? id : 0;
        try
        {
            // Providers with a dedicated C API entry point cannot be appended by name.
            switch (shortName)
            {
                case "Tensorrt": options.AppendExecutionProvider_Tensorrt(deviceId); break;
                case "Dnnl": options.AppendExecutionProvider_Dnnl(1); break;
                case "ROCM": options.AppendExecutionProvider_ROCm(deviceId); break;
                case "MIGraphX": options.AppendExecutionProvider_MIGraphX(deviceId); break;
                case "DML": options.AppendExecutionProvider_DML(deviceId); break;
                case "CUDA":
                    // Reached with CUDA options beyond device_id (e.g. gpu_mem_limit); plain cuda goes through DeviceKind.Cuda.
                    using (var cudaOptions = new OrtCUDAProviderOptions())
                    {
                        cudaOptions.UpdateOptions(providerOptions);
                        options.AppendExecutionProvider_CUDA(cudaOptions);
                    }
                    break;
                default: options.AppendExecutionProvider(shortName, providerOptions); break;
            }
        }
        catch (Exception e) when (e is OnnxRuntimeException or EntryPointNotFoundException)
        {
            throw new OnnxTransferException($"--ep {name}: could not attach {fullName} ({CudaSupport.FirstLine(e.Message)}).", e);
        }
        return fullName;
    }

    private static IReadOnlyList<OrtEpDevice> RegisterPlugin(OrtEnv env, string name, string library)
    {
        if (!File.Exists(library))
            throw new OnnxTransferException($"--ep {name}: provider library {library} not found; give the path of the provider's shared library.");
        lock (RegistrationGate)
        {
            var full = Path.GetFullPath(library);
            var before = env.GetEpDevices().Select(d => d.EpName).ToHashSet(StringComparer.Ordinal);
            if (RegisteredLibraries.TryGetValue(name, out var existing))
            {
                if (existing != full)
                    throw new OnnxTransferException($"--ep {name}: already registered from {existing}; one library per provider name per process.");
            }
            else
            {
                try
                {
                    env.RegisterExecutionProviderLibrary(name, full);
                }
                catch (OnnxRuntimeException e)
                {
                    throw new OnnxTransferException($"--ep {name}: could not load provider library {full} ({CudaSupport.FirstLine(e.Message)}).", e);
                }
                RegisteredLibraries[name] = full;
            }
            var all = env.GetEpDevices();
            var devices = all.Where(d => string.Equals(d.EpName, name, StringComparison.OrdinalIgnoreCase)).ToArray();
            if (devices.Length == 0) devices = all.Where(d => !before.Contains(d.EpName)).ToArray();
            if (devices.Length == 0)
                throw new OnnxTransferException($"--ep {name}: {full} loaded but offers no device on this machine (devices: {string.Join(", ", all.Select(d => d.EpName).Distinct())}).");
            return devices;
        }
    }
}
