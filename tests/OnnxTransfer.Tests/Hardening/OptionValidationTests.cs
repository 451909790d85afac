using static OnnxTransfer.Tests.Hardening.OutputSafetyKit;

namespace OnnxTransfer.Tests.Hardening;

/// <summary>Numeric options out of range are refused by the parser, naming the option, before any file is read.</summary>
public class OptionValidationTests
{
    // The inputs do not exist: a refusal naming the option proves the check ran before any work.
    private static readonly string[] Extract = ["extract", "--backbone", "/nonexistent/b.onnx", "--data", "/nonexistent/d", "--out", "/nonexistent/f.parquet"];
    private static readonly string[] Train = ["train", "--features", "/nonexistent/f.parquet", "--out", "/nonexistent/head"];
    private static readonly string[] Fit = ["fit", "--data", "/nonexistent/d", "--out", "/nonexistent/m.onnx"];
    private static readonly string[] Predict = ["predict", "--model", "/nonexistent/m.onnx", "/nonexistent/a.jpg"];
    private static readonly string[] Curve = ["curve", "--data", "/nonexistent/d", "--out", "/nonexistent/c"];
    private static readonly string[] Compare = ["compare", "--data", "/nonexistent/d", "--out", "/nonexistent/c"];

    public static TheoryData<string, string[], string> Cases() => new()
    {
        { "extract batch zero", [.. Extract, "--batch", "0"], "--batch 0" },
        { "extract batch negative", [.. Extract, "--batch", "-5"], "--batch -5" },
        { "extract threads zero", [.. Extract, "--threads", "0"], "--threads 0" },
        { "extract max-errors negative", [.. Extract, "--max-errors", "-1"], "--max-errors -1" },
        { "train epochs zero", [.. Train, "--epochs", "0"], "--epochs 0" },
        { "train epochs negative", [.. Train, "--epochs", "-3"], "--epochs -3" },
        { "train lr zero", [.. Train, "--lr", "0"], "--lr 0" },
        { "train lr negative", [.. Train, "--lr", "-0.1"], "--lr -0.1" },
        { "train lr NaN", [.. Train, "--lr", "NaN"], "--lr NaN" },
        { "train lr infinite", [.. Train, "--lr", "Infinity"], "--lr" },
        { "train batch-size zero", [.. Train, "--batch-size", "0"], "--batch-size 0" },
        { "train val-split one", [.. Train, "--val-split", "1"], "--val-split 1" },
        { "train val-split negative", [.. Train, "--val-split", "-0.2"], "--val-split -0.2" },
        { "train patience negative", [.. Train, "--patience", "-1"], "--patience -1" },
        { "fit per-class zero", [.. Fit, "--per-class", "0"], "--per-class 0" },
        { "fit holdout zero", [.. Fit, "--holdout", "0"], "--holdout 0" },
        { "fit holdout above one", [.. Fit, "--holdout", "1.5"], "--holdout 1.5" },
        { "fit stage-epochs zero", [.. Fit, "--stage-epochs", "0"], "--stage-epochs 0" },
        { "fit lr NaN", [.. Fit, "--lr", "NaN"], "--lr NaN" },
        { "predict top zero", [.. Predict, "--top", "0"], "--top 0" },
        { "predict batch zero", [.. Predict, "--batch", "0"], "--batch 0" },
        { "curve max-fine-tune-steps zero", [.. Curve, "--max-fine-tune-steps", "0"], "--max-fine-tune-steps 0" },
        { "curve min-steps zero", [.. Curve, "--min-steps", "0"], "--min-steps 0" },
        { "compare folds one", [.. Compare, "--folds", "1"], "--folds 1" },
        { "compare per-class zero", [.. Compare, "--per-class", "0"], "--per-class 0" },
        { "compare backbones empty", [.. Compare, "--backbones", ","], "--backbones ','" },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Out_of_range_option_is_refused_up_front_naming_it(string kind, string[] args, string expected)
    {
        var (code, _, err) = RunCli(args);
        Assert.True(code == 1, kind);
        Assert.Contains(expected, err);
        Assert.DoesNotContain("nonexistent", err); // refused before any input was looked at
        Assert.DoesNotContain("   at ", err);
    }
}
