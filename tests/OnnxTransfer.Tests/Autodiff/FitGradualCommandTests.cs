using OnnxTransfer.Cli;

namespace OnnxTransfer.Tests.Autodiff;

public class FitGradualCommandTests
{
    [Fact]
    public void Gradual_unfreezing_is_the_default_of_fit_unfreeze_and_too_few_epochs_name_both_fixes()
    {
        using var dir = new TempDir();
        string Refusal(params string[] extra)
        {
            var error = new StringWriter();
            var code = CliApp.Run(["fit", "-b", SharedAssets.MobileNetV2Int8, "-d", SharedAssets.Dataset("hymenoptera"), "-o", dir.File("x.onnx"),
                "--unfreeze", "4", "--epochs", "3", .. extra], new StringWriter(), error);
            Assert.Equal(CliApp.UsageError, code);
            return error.ToString();
        }

        // 4 layers released one per epoch after a head-only epoch: the last joins in epoch 5.
        var message = Refusal();
        Assert.Contains("needs at least 5 epochs", message);
        Assert.Contains("--gradual false", message);
        Assert.Contains("needs at least 9 epochs", Refusal("--stage-epochs", "2"));
        Assert.Contains("--stage-epochs 0", Refusal("--stage-epochs", "0"));
    }
}
