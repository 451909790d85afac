using System.CommandLine;
using OnnxTransfer.Cli;

namespace OnnxTransfer.Tests.Curves;

public class CurveCommandTests
{
    private static Exception? Invoke(params string[] args)
    {
        var config = new InvocationConfiguration { Output = new StringWriter(), Error = new StringWriter(), EnableDefaultExceptionHandler = false };
        return Record.Exception(() => CliApp.Build().Parse(args).Invoke(config));
    }

    [Theory]
    [InlineData("--sizes", "5,ten,all", "'ten'")]
    [InlineData("--sizes", "5,5", "repeat")]
    [InlineData("--methods", "frozen,finetuned", "'finetuned'")]
    [InlineData("--seeds", "0", "--seeds 0")]
    public void Bad_options_fail_with_one_line_naming_the_value(string option, string value, string named)
    {
        using var dir = new TempDir();
        var e = Invoke("curve", "--data", dir.Path, "--out", dir.File("out"), option, value);
        var error = Assert.IsType<OnnxTransferException>(e);
        Assert.Contains(named, error.Message);
        Assert.DoesNotContain('\n', error.Message);
        Assert.False(Directory.Exists(dir.File("out")));
    }
}

public class CurveOptionsTests
{
    [Fact]
    public void Augmentation_is_refused_because_the_curve_fine_tunes_on_cached_activations()
    {
        var options = new OnnxTransfer.Curves.CurveOptions { FineTune = new OnnxTransfer.Training.FineTuning.FineTuneOptions { Augmentation = OnnxTransfer.Imaging.ImageAugmentation.Light } };
        var e = Assert.Throws<OnnxTransferException>(options.Validate);
        Assert.Contains("augmentation", e.Message);
        new OnnxTransfer.Curves.CurveOptions().Validate(); // the defaults are valid
    }
}
