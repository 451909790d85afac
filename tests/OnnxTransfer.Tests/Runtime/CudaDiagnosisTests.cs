using OnnxTransfer.Diagnostics;
using OnnxTransfer.Runtime;

namespace OnnxTransfer.Tests.Runtime;

/// <summary>What doctor and <c>--device</c> say about CUDA, checked on fake provider libraries (no GPU needed).</summary>
public class CudaDiagnosisTests
{
    // A CUDA major no real toolkit has, so the real loader finds none of these libraries on any machine.
    private static readonly string[] ProviderNeeds =
        ["libcublasLt.so.97", "libcublas.so.97", "libcurand.so.10", "libcudart.so.97", "libcuda.so.1", "libstdc++.so.6", "libc.so.6"];

    private static CudaSetup FakeSetup(TempDir dir, Func<string, bool> present)
    {
        var provider = FakeElf.Write(dir.Path, CudaProviderLibrary.FileName, ProviderNeeds);
        return new CudaSetup(true, provider, name => present(name)
            ? new NativeLibraryStatus(name, true, name, "/fake/" + name)
            : NativeLibraryProbe.Probe(name, [name]));
    }

    [Fact]
    public void Names_each_missing_library_with_the_cuda_major_the_provider_was_built_for()
    {
        using var dir = new TempDir();
        var status = CudaSupport.Check(0, FakeSetup(dir, name => name is "libcuda.so.1" or "libcurand.so.10"));

        Assert.True(status.CompiledIn);
        Assert.False(status.Usable);
        Assert.Equal(97, status.CudaMajor);
        foreach (var missing in new[] { "libcublasLt.so.97", "libcublas.so.97", "libcudart.so.97", $"libcudnn.so.{CudaRequirements.CudnnMajor}" })
            Assert.Contains(missing, status.Reason);
        Assert.Contains("install the CUDA 97 runtime (apt: cuda-libraries-97-x", status.Reason);
        Assert.Contains($"libcudnn{CudaRequirements.CudnnMajor}-cuda-97", status.Reason);
        Assert.DoesNotContain("libcuda.so.1", status.Reason);
        Assert.DoesNotContain("libcurand", status.Reason);
        Assert.DoesNotContain("CUDA 12", status.Reason);
        Assert.DoesNotContain('\n', status.Reason);

        // Only NVIDIA libraries are listed (not libc), each with its own fix when missing.
        Assert.Equal(["libcublasLt.so.97", "libcublas.so.97", "libcurand.so.10", "libcudart.so.97", "libcuda.so.1", "libcudnn.so.9"],
            status.Libraries.Select(l => l.Library));
        Assert.All(status.Libraries, l => Assert.Equal(l.Found, l.Fix.Length == 0));
        Assert.Contains("NVIDIA driver", CudaRequirements.From(["libcuda.so.1"]).Single(r => r.Library == "libcuda.so.1").Fix);
    }

    [Fact]
    public void A_library_beside_the_provider_on_its_runpath_counts_as_found()
    {
        using var dir = new TempDir();
        var provider = Path.Combine(dir.Path, CudaProviderLibrary.FileName);
        File.WriteAllBytes(provider, FakeElf.Build(["libcudart.so.97"], runPath: "$ORIGIN"));
        File.WriteAllBytes(Path.Combine(dir.Path, "libcudart.so.97"), [0]);
        var status = CudaSupport.Check(0, new CudaSetup(true, provider, name => NativeLibraryProbe.Probe(name, [name])));
        Assert.True(status.Libraries.Single(l => l.Library == "libcudart.so.97").Found);
        Assert.DoesNotContain("libcudart.so.97", status.Reason);
    }

    [Fact]
    public void The_cpu_build_says_the_gpu_package_is_not_in_it_and_how_to_build_it()
    {
        var status = CudaSupport.Check(0, new CudaSetup(false, null, _ => throw new InvalidOperationException("nothing to probe")));
        Assert.False(status.CompiledIn);
        Assert.Empty(status.Libraries);
        Assert.Contains("-p:OnnxRuntimeFlavor=Gpu", status.Reason);
        Assert.Contains("ONNXTRANSFER_ORT_FLAVOR=Gpu", status.Reason);
        Assert.Contains("Microsoft.ML.OnnxRuntime.Gpu", status.Reason);
    }

    [Fact]
    public void A_missing_provider_library_is_named()
    {
        using var dir = new TempDir();
        var status = CudaSupport.Check(0, new CudaSetup(true, dir.File(CudaProviderLibrary.FileName), _ => throw new InvalidOperationException()));
        Assert.False(status.Usable);
        Assert.Contains(CudaProviderLibrary.FileName, status.Reason);
        Assert.Contains(dir.Path, status.Reason);
    }

    [Fact]
    public void Explicit_cuda_fails_with_the_missing_libraries()
    {
        using var dir = new TempDir();
        var setup = FakeSetup(dir, _ => false);
        var e = Assert.Throws<OnnxTransferException>(() => SessionFactory.Create(ExecutionDevice.Cuda(), null, id => CudaSupport.Check(id, setup)));
        Assert.StartsWith("--device cuda:0: CUDA is not usable: ", e.Message);
        foreach (var missing in new[] { "libcublasLt.so.97", "libcublas.so.97", "libcudart.so.97", "libcuda.so.1", "libcudnn.so.9" })
            Assert.Contains(missing, e.Message);
        Assert.DoesNotContain('\n', e.Message);
    }

    [Fact]
    public void Auto_falls_back_to_cpu_with_one_warning_naming_the_missing_libraries()
    {
        using var dir = new TempDir();
        var setup = FakeSetup(dir, _ => false);
        var checks = 0;
        using var factory = SessionFactory.Create(ExecutionDevice.Auto, null, id => { checks++; return CudaSupport.Check(id, setup); });
        using var session = factory.CreateSession(Doctor.ProbeModel());
        using var session2 = factory.CreateSession(Doctor.ProbeModel());

        Assert.Equal(1, checks);
        Assert.Equal(SessionFactory.CpuProvider, factory.Provider);
        Assert.NotNull(factory.Warning);
        Assert.StartsWith("CUDA not used (libcublasLt.so.97", factory.Warning);
        Assert.EndsWith("running on CPU.", factory.Warning);
        Assert.DoesNotContain('\n', factory.Warning);
    }

    [Fact]
    public void This_builds_provider_library_is_read_for_its_cuda_major()
    {
        var status = CudaSupport.Check();
        Assert.Equal(CudaSupport.GpuBuild, status.CompiledIn);
        if (!CudaSupport.GpuBuild)
        {
            Assert.Null(CudaProviderLibrary.ExpectedPath() is { } p && File.Exists(p) ? p : null);
            return;
        }
        // The Gpu package's provider names its CUDA major through libcudart/libcublas; doctor lists exactly those.
        var provider = CudaProviderLibrary.ExpectedPath();
        Assert.True(File.Exists(provider), $"{provider} missing from the Gpu build");
        var deps = ElfDynamicSection.Read(provider!);
        var major = CudaRequirements.CudaMajor(deps.Needed);
        Assert.NotNull(major);
        Assert.Equal(major, status.CudaMajor);
        Assert.Contains($"libcudart.so.{major}", status.Libraries.Select(l => l.Library));
        if (status.Libraries.Any(l => !l.Found && l.Library.StartsWith("libcudart", StringComparison.Ordinal)))
            Assert.Contains($"install the CUDA {major} runtime", status.Reason);
    }
}
