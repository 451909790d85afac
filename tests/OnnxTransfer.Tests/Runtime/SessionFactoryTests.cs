using OnnxTransfer.Diagnostics;
using Microsoft.ML.OnnxRuntime;
using OnnxTransfer.Runtime;

namespace OnnxTransfer.Tests.Runtime;

public class SessionFactoryTests
{
    private static float[] RunProbe(InferenceSession session)
    {
        using var x = OrtValue.CreateTensorValueFromMemory(new float[] { 10, 20, 30, 40 }, [1, 4]);
        using var options = new RunOptions();
        using var results = session.Run(options, ["x"], [x], ["y"]);
        return results[0].GetTensorDataAsSpan<float>().ToArray();
    }

    [Fact]
    public void Cpu_sessions_use_the_cpu_provider_and_the_default_settings()
    {
        using var factory = SessionFactory.Create(ExecutionDevice.Cpu);
        using var session = factory.CreateSession(Doctor.ProbeModel());
        Assert.Equal(SessionFactory.CpuProvider, factory.Provider);
        Assert.Null(factory.Warning);
        Assert.Equal([11f, 22f, 33f, 44f], RunProbe(session));
        Assert.Equal(Environment.ProcessorCount, factory.Options.IntraOpNumThreads);
        Assert.Equal(GraphOptimizationLevel.ORT_ENABLE_ALL, factory.Options.GraphOptimizationLevel);
        Assert.True(factory.Options.EnableMemoryPattern);
    }

    [Fact]
    public void Settings_are_overridable()
    {
        using var factory = SessionFactory.Create(ExecutionDevice.Cpu,
            new SessionSettings(IntraOpThreads: 1, OptimizationLevel: GraphOptimizationLevel.ORT_DISABLE_ALL, MemoryPattern: false));
        Assert.Equal(1, factory.Options.IntraOpNumThreads);
        Assert.Equal(GraphOptimizationLevel.ORT_DISABLE_ALL, factory.Options.GraphOptimizationLevel);
        Assert.False(factory.Options.EnableMemoryPattern);
    }

    [Fact]
    public void Explicit_cuda_says_what_is_missing_when_it_cannot_work()
    {
        var status = CudaSupport.Check();
        if (status.Usable)
        {
            // A GPU build on a CUDA machine: the explicit device must really use CUDA.
            using var factory = SessionFactory.Create(ExecutionDevice.Cuda());
            Assert.Equal(CudaSupport.ProviderName, factory.Provider);
            return;
        }
        var e = Assert.Throws<OnnxTransferException>(() => SessionFactory.Create(ExecutionDevice.Cuda()));
        Assert.Contains("cuda:0", e.Message);
        Assert.Contains(status.Reason, e.Message);
        Assert.DoesNotContain('\n', e.Message);
        if (!status.CompiledIn)
        {
            Assert.Contains("-p:OnnxRuntimeFlavor=Gpu", e.Message);
            Assert.Contains("Microsoft.ML.OnnxRuntime.Gpu", e.Message);
        }
        else
        {
            Assert.Contains("lib", e.Message);
        }
    }

    [Fact]
    public void Auto_falls_back_to_cpu_with_a_one_line_warning()
    {
        using var factory = SessionFactory.Create(ExecutionDevice.Auto);
        using var session = factory.CreateSession(Doctor.ProbeModel());
        Assert.Equal([11f, 22f, 33f, 44f], RunProbe(session));
        if (CudaSupport.Check().Usable)
        {
            Assert.Equal(CudaSupport.ProviderName, factory.Provider);
            return;
        }
        Assert.Equal(SessionFactory.CpuProvider, factory.Provider);
        Assert.NotNull(factory.Warning);
        Assert.Contains("CPU", factory.Warning);
        Assert.DoesNotContain('\n', factory.Warning);
    }

    [Fact]
    public void Unknown_provider_lists_what_is_available_and_the_plugin_route()
    {
        var e = Assert.Throws<OnnxTransferException>(() => SessionFactory.Create(ExecutionDevice.ParseProvider("NoSuchEp")));
        Assert.Contains("NoSuchEp", e.Message);
        Assert.Contains("CPUExecutionProvider", e.Message);
        Assert.Contains("library=", e.Message);
    }

    [Fact]
    public void Cuda_provider_options_need_a_cuda_build()
    {
        var device = ExecutionDevice.ParseProvider("CUDA:device_id=0,gpu_mem_limit=1000000");
        Assert.Equal(DeviceKind.Provider, device.Kind);
        if (CudaSupport.Check().Usable)
        {
            using var factory = SessionFactory.Create(device);
            Assert.Equal(CudaSupport.ProviderName, factory.Provider);
            return;
        }
        var e = Assert.Throws<OnnxTransferException>(() => SessionFactory.Create(device));
        Assert.Contains("--ep CUDA", e.Message);
    }

    [Fact]
    public void Plugin_library_that_is_missing_or_not_a_provider_is_a_clear_error()
    {
        var missing = Assert.Throws<OnnxTransferException>(() => SessionFactory.Create(ExecutionDevice.ParseProvider("PlugA:library=/no/such/libep.so")));
        Assert.Contains("/no/such/libep.so", missing.Message);
        Assert.Contains("not found", missing.Message);

        // A real shared library that is not an execution provider goes through ORT's plugin registration and is refused.
        var notEp = typeof(object).Assembly.Location is { } _ ? FindLibm() : null;
        Assert.NotNull(notEp);
        var e = Assert.Throws<OnnxTransferException>(() => SessionFactory.Create(ExecutionDevice.ParseProvider($"PlugB:library={notEp}")));
        Assert.Contains("could not load provider library", e.Message);
        Assert.DoesNotContain('\n', e.Message);
    }

    private static string? FindLibm() =>
        new[] { "/lib/x86_64-linux-gnu/libm.so.6", "/usr/lib/x86_64-linux-gnu/libm.so.6", "/lib/aarch64-linux-gnu/libm.so.6", "/usr/lib64/libm.so.6", "/lib64/libm.so.6" }
            .FirstOrDefault(File.Exists);
}
