using OnnxTransfer.Cli;

namespace OnnxTransfer.Tests.Cli;

/// <summary>Exit code 2 for a command line that cannot work, 1 for a failure while working; errors on stderr, never on stdout.</summary>
public class ExitCodeTests
{
    private static (int Code, string Out, string Err) Run(params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        var code = CliApp.Run(args, output, error);
        return (code, output.ToString(), error.ToString());
    }

    [Theory]
    [InlineData("unknown option", "train", "-f", "x.parquet", "-o", "head", "--bogus")]
    [InlineData("missing option", "train", "-f", "x.parquet")]
    [InlineData("unknown command", "trian")]
    [InlineData("not a number", "train", "-f", "x.parquet", "-o", "head", "--epochs", "abc")]
    [InlineData("out of range", "train", "-f", "x.parquet", "-o", "head", "--epochs", "0")]
    [InlineData("bad head spec", "train", "-f", "x.parquet", "-o", "head", "--head", "mlp:x")]
    [InlineData("bad enum", "train", "-f", "x.parquet", "-o", "head", "--schedule", "sometimes")]
    [InlineData("bad device", "predict", "-m", "m.onnx", "a.jpg", "--device", "cuda:x")]
    [InlineData("bad unfreeze", "fit", "-d", "data", "-o", "m.onnx", "--unfreeze", "lots")]
    [InlineData("bad augmentation", "fit", "-d", "data", "-o", "m.onnx", "--unfreeze", "2", "--augment", "scale=9")]
    [InlineData("bad regular expression", "fit", "-d", "data", "-o", "m.onnx", "--group-by", "(")]
    [InlineData("conflicting options", "fit", "-d", "data", "-o", "m.onnx", "--augment")]
    [InlineData("missing companion option", "evaluate", "--model", "m.onnx")]
    [InlineData("quiet and verbose", "doctor", "--quiet", "--verbose")]
    [InlineData("empty backbone list", "compare", "-d", "data", "--backbones", ",")]
    public void Usage_errors_exit_2_with_error_lines_on_stderr(string why, params string[] args)
    {
        var (code, output, error) = Run(args);
        Assert.True(code == CliApp.UsageError, $"{why}: exit {code}\n{error}");
        Assert.Equal("", output);
        Assert.StartsWith("error: ", error);
        Assert.DoesNotContain("   at ", error);
    }

    [Fact]
    public void A_parse_error_points_at_the_commands_help()
    {
        var (_, _, error) = Run("wakeword", "detect", "--vad-threshold", "x");
        Assert.Contains("usage: `onnxtransfer wakeword detect --help`", error);
    }

    [Fact]
    public void Runtime_failures_exit_1()
    {
        using var dir = new TempDir();
        var (code, output, error) = Run("train", "-f", dir.File("missing.parquet"), "-o", dir.File("head"));
        Assert.Equal(CliApp.RuntimeError, code);
        Assert.Equal("", output);
        Assert.StartsWith("error: ", error);
        Assert.Contains("missing.parquet", error);
        Assert.Single(error.Split('\n', StringSplitOptions.RemoveEmptyEntries));
    }

    [Fact]
    public void Usage_lines_name_onnxtransfer()
    {
        var (code, output, _) = Run("train", "--help");
        Assert.Equal(0, code);
        Assert.Contains("onnxtransfer train [options]", output);
        Assert.Contains("-q, --quiet", output);
        Assert.Contains("-v, --verbose", output);
        Assert.Contains("--json", output);
        Assert.DoesNotContain("OnnxTransfer.Tests", output);
        Assert.Contains("onnxtransfer [command] [options]", Run("--help").Out);
    }

    [Fact]
    public void Quiet_silences_notes_but_not_errors()
    {
        using var dir = new TempDir();
        Directory.CreateDirectory(dir.File("data/a"));
        File.WriteAllBytes(dir.File("data/a/1.jpg"), [1, 2, 3]);
        // One class only: fit notes which features it uses, then fails.
        string[] args = ["fit", "-b", SharedAssets.MobileNetV2Int8, "-d", dir.File("data"), "-o", dir.File("m.onnx")];
        var loud = Run(args);
        var quiet = Run([.. args, "--quiet"]);
        Assert.Equal(CliApp.RuntimeError, loud.Code);
        Assert.Equal(CliApp.RuntimeError, quiet.Code);
        Assert.Contains("features on", loud.Err);
        var line = Assert.Single(quiet.Err.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("error: ", line);
        Assert.Contains("class", line);
    }
}
