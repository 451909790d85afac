using OnnxTransfer.Diagnostics;
using System.Text.Json;
using Microsoft.ML.OnnxRuntime;
using OnnxTransfer.Backbones;
using OnnxTransfer.Runtime;

namespace OnnxTransfer.Tests.Runtime;

public class DoctorTests
{
    [Fact]
    public async Task Json_report_has_runtime_providers_cuda_and_cache_fields()
    {
        using var home = new TempDir();
        var registry = new BackboneRegistry(BackboneRegistry.BuiltInManifests, new BackboneLocations(home.Path, [SharedAssets.Models], AllowNetwork: false));
        await registry.ResolveAsync("mobilenetv2-12-int8");

        using var doc = JsonDocument.Parse(Doctor.Run(registry).ToJson());
        var root = doc.RootElement;

        Assert.Equal(OrtEnv.Instance().GetVersionString(), root.GetProperty("onnx_runtime_version").GetString());
        Assert.Contains("CPUExecutionProvider", root.GetProperty("compiled_providers").EnumerateArray().Select(e => e.GetString()));
        var providers = root.GetProperty("providers").EnumerateArray().ToDictionary(p => p.GetProperty("name").GetString()!);
        Assert.True(providers["CPUExecutionProvider"].GetProperty("usable").GetBoolean());
        Assert.True(providers.ContainsKey("CUDAExecutionProvider"));

        var cuda = CudaSupport.Check();
        Assert.Equal(cuda.Usable, root.GetProperty("cuda_usable").GetBoolean());
        if (!cuda.Usable)
        {
            Assert.False(providers["CUDAExecutionProvider"].GetProperty("usable").GetBoolean());
            Assert.Equal(cuda.Reason, root.GetProperty("cuda_reason").GetString());
            Assert.NotEmpty(cuda.Reason);
        }
        Assert.Equal(cuda.Libraries.Select(l => l.Library),
            root.GetProperty("cuda_libraries").EnumerateArray().Select(l => l.GetProperty("library").GetString()));
        if (!CudaSupport.GpuBuild) Assert.Empty(cuda.Libraries);

        // The native library loaded is the pinned package version, and ORT's log goes through OnnxRuntimeLog.
        Assert.Equal(ToolInfo.OnnxRuntimeBuildVersion, root.GetProperty("onnx_runtime_build_version").GetString());
        Assert.Equal(root.GetProperty("onnx_runtime_build_version").GetString(), root.GetProperty("onnx_runtime_version").GetString());
        Assert.True(root.GetProperty("onnx_runtime_log_routed").GetBoolean());

        Assert.Equal(home.Path, root.GetProperty("cache_dir").GetString());
        Assert.Equal([SharedAssets.Models], root.GetProperty("mirrors").EnumerateArray().Select(m => m.GetString()));
        var backbones = root.GetProperty("backbones").EnumerateArray().ToDictionary(b => b.GetProperty("name").GetString()!, b => b.GetProperty("cached").GetBoolean());
        Assert.True(backbones["mobilenetv2-12-int8"]);
        Assert.False(backbones["openwakeword"]);
        Assert.Equal(BackboneRegistry.BuiltInManifests.Count, backbones.Count);
    }

    [Fact]
    public void Library_probe_finds_a_library_that_exists_and_not_one_that_does_not()
    {
        var libc = NativeLibraryProbe.Probe("libc", ["libc.so.6"]);
        Assert.True(libc.Found);
        Assert.Equal("libc.so.6", libc.LoadedAs);
        Assert.NotNull(libc.Path);
        Assert.True(File.Exists(libc.Path));

        var none = NativeLibraryProbe.Probe("libnothing", ["libonnxtransfer_does_not_exist.so.1"]);
        Assert.False(none.Found);
    }
}
