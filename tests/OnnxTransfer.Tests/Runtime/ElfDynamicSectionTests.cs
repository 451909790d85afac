using OnnxTransfer.Runtime;

namespace OnnxTransfer.Tests.Runtime;

public class ElfDynamicSectionTests
{
    [Theory]
    [InlineData(true, false)]
    [InlineData(false, false)]
    [InlineData(true, true)]
    [InlineData(false, true)]
    public void Reads_needed_soname_and_runpath_in_every_class_and_byte_order(bool is64, bool bigEndian)
    {
        using var dir = new TempDir();
        var path = dir.File("libfake.so");
        string[] needed = ["libcublasLt.so.13", "libcudart.so.13", "libc.so.6"];
        File.WriteAllBytes(path, FakeElf.Build(needed, "libfake.so.1", "$ORIGIN:/opt/cuda/lib64", is64, bigEndian));

        var deps = ElfDynamicSection.Read(path);

        Assert.Equal(needed, deps.Needed);
        Assert.Equal("libfake.so.1", deps.SoName);
        Assert.Equal(["$ORIGIN", "/opt/cuda/lib64"], deps.RunPaths);
    }

    [Fact]
    public void Reads_the_real_onnx_runtime_library()
    {
        _ = Microsoft.ML.OnnxRuntime.OrtEnv.Instance();
        var folder = CudaProviderLibrary.RuntimeFolder();
        Assert.NotNull(folder);
        var deps = ElfDynamicSection.Read(Path.Combine(folder, "libonnxruntime.so"));
        Assert.Contains("libc.so.6", deps.Needed);
        Assert.StartsWith("libonnxruntime.so", deps.SoName);
    }

    [Theory]
    [InlineData("not an elf file at all, just text")]
    [InlineData("")]
    public void Refuses_a_file_that_is_not_elf_in_one_line_naming_it(string content)
    {
        using var dir = new TempDir();
        var path = dir.File("libbroken.so");
        File.WriteAllText(path, content);
        var e = Assert.Throws<OnnxTransferException>(() => ElfDynamicSection.Read(path));
        Assert.Contains(path, e.Message);
        Assert.DoesNotContain('\n', e.Message);
    }

    [Fact]
    public void Refuses_a_truncated_library_instead_of_reading_past_its_end()
    {
        using var dir = new TempDir();
        var path = dir.File("libcut.so");
        var full = FakeElf.Build(["libcudart.so.13"]);
        File.WriteAllBytes(path, full[..(full.Length - 20)]);
        var e = Assert.Throws<OnnxTransferException>(() => ElfDynamicSection.Read(path));
        Assert.Contains("truncated", e.Message);
    }

    [Fact]
    public void A_missing_file_is_one_line_naming_it()
    {
        var e = Assert.Throws<OnnxTransferException>(() => ElfDynamicSection.Read("/nonexistent/libnothing.so"));
        Assert.Contains("/nonexistent/libnothing.so", e.Message);
    }
}
