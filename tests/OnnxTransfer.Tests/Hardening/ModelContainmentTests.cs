using OnnxTransfer.Onnx;
using static OnnxTransfer.Tests.Hardening.HostileInputs;

namespace OnnxTransfer.Tests.Hardening;

/// <summary>ONNX external data: only regular files inside the model's folder (symlinks resolved) are read.</summary>
public class ModelContainmentTests
{
    /// <summary>
    /// Each case lays out a model folder "models" (and what lies around it) and names the external-data location;
    /// the outside file "secret" must never be read.
    /// </summary>
    [Theory]
    [InlineData("sibling folder sharing the name prefix", "../models2/secret.bin")]
    [InlineData("parent folder via ..", "../secret.bin")]
    [InlineData("absolute path", "ABSOLUTE")]
    [InlineData("symlinked file pointing outside", "link.bin")]
    [InlineData("symlinked folder pointing outside", "linkdir/secret.bin")]
    [InlineData("dot-dot hidden inside a subfolder", "sub/../../secret.bin")]
    public void External_data_outside_the_model_folder_is_refused(string kind, string location)
    {
        _ = kind;
        using var dir = new TempDir();
        var models = Directory.CreateDirectory(dir.File("models")).FullName;
        var sibling = Directory.CreateDirectory(dir.File("models2")).FullName;
        Directory.CreateDirectory(Path.Combine(models, "sub"));
        var secret = Path.Combine(sibling, "secret.bin");
        File.WriteAllBytes(secret, WeightBytes);
        File.WriteAllBytes(dir.File("secret.bin"), WeightBytes);
        File.CreateSymbolicLink(Path.Combine(models, "link.bin"), secret);
        Directory.CreateSymbolicLink(Path.Combine(models, "linkdir"), sibling);
        var modelPath = Path.Combine(models, "m.onnx");
        SaveWithExternalWeights(modelPath, location == "ABSOLUTE" ? secret : location, "0", "12");

        var message = Refused(() => OnnxModel.Load(modelPath));
        Assert.Contains("m.onnx", message);
        Assert.Contains("outside the model folder", message);
    }

    [Fact]
    public void Cut_never_copies_an_outside_file_into_the_model_it_writes()
    {
        using var dir = new TempDir();
        var models = Directory.CreateDirectory(dir.File("models")).FullName;
        Directory.CreateDirectory(dir.File("models2"));
        File.WriteAllBytes(dir.File("models2/secret.bin"), WeightBytes);
        var modelPath = Path.Combine(models, "m.onnx");
        SaveWithExternalWeights(modelPath, "../models2/secret.bin", "0", "12");
        var before = Sha256(modelPath);
        var output = dir.File("cut.onnx");

        var (code, _, error) = RunCli("cut", modelPath, "--out", output, "--at", "y");

        Assert.Equal(1, code);
        Assert.Contains("outside the model folder", error);
        Assert.False(File.Exists(output));
        Assert.Equal(before, Sha256(modelPath));
    }

    [Fact]
    public void A_symlink_to_a_file_inside_the_folder_is_read()
    {
        using var dir = new TempDir();
        File.WriteAllBytes(dir.File("weights.bin"), WeightBytes);
        File.CreateSymbolicLink(dir.File("alias.bin"), dir.File("weights.bin"));
        SaveWithExternalWeights(dir.File("m.onnx"), "alias.bin", "0", "12");

        var model = OnnxModel.Load(dir.File("m.onnx"));

        Assert.Equal([1f, 2f, 3f], OnnxTensor.ToFloats(model.Graph.Initializer[0]));
    }

    /// <summary>Damaged offset/length fields and unreadable data files: a one-line error, never an unhandled exception.</summary>
    [Theory]
    [InlineData("non-numeric offset", "abc", "12", "offset 'abc'")]
    [InlineData("overflowing offset", "99999999999999999999", "12", "offset '99999999999999999999'")]
    [InlineData("negative offset", "-4", "12", "offset '-4'")]
    [InlineData("negative length", "0", "-12", "length '-12'")]
    [InlineData("non-numeric length", "0", "twelve", "length 'twelve'")]
    [InlineData("offset+length past the end", "4", "12", "runs past the end")]
    [InlineData("offset+length overflowing long", "9223372036854775800", "100", "runs past the end")]
    [InlineData("offset past the end, no length", "1000", null, "runs past the end")]
    [InlineData("offset with spaces", " 0", "12", "offset ' 0'")]
    public void Bad_external_data_offsets_and_lengths_are_clear_errors(string kind, string offset, string? length, string expected)
    {
        _ = kind;
        using var dir = new TempDir();
        File.WriteAllBytes(dir.File("weights.bin"), WeightBytes);
        SaveWithExternalWeights(dir.File("m.onnx"), "weights.bin", offset, length);

        var message = Refused(() => OnnxModel.Load(dir.File("m.onnx")));

        Assert.Contains("m.onnx", message);
        Assert.Contains(expected, message);
    }

    [Theory]
    [InlineData("missing data file")]
    [InlineData("data file is a folder")]
    [InlineData("data file is a FIFO")]
    [InlineData("data file is a character device")]
    public void Unreadable_external_data_files_are_refused_up_front(string kind)
    {
        using var dir = new TempDir();
        var location = "weights.bin";
        switch (kind)
        {
            case "data file is a folder": Directory.CreateDirectory(dir.File(location)); break;
            case "data file is a FIFO": Fifo(dir.File(location)); break;
            case "data file is a character device": File.CreateSymbolicLink(dir.File(location), "/dev/zero"); break;
        }
        SaveWithExternalWeights(dir.File("m.onnx"), location, "0", "12");

        var message = Refused(() => OnnxModel.Load(dir.File("m.onnx")), fifoToRelease: kind.EndsWith("FIFO") ? dir.File(location) : null);

        Assert.Contains("m.onnx", message);
        Assert.Contains("weights.bin", message);
    }
}
