using System.Diagnostics;
using System.Text.Json;
using OnnxTransfer.Tests.Json;

namespace OnnxTransfer.Tests.Cli;

/// <summary>Runs <c>fit --json</c> once on a small copy of hymenoptera; the other commands work on what it wrote.</summary>
public sealed class FitJsonFixture : IDisposable
{
    private readonly TempDir _dir = new();

    public FitJsonFixture()
    {
        var data = SharedAssets.SmallHymenoptera(_dir, train: 10, val: 4);
        Cache = _dir.File("cache");
        Model = _dir.File("out/model.onnx");
        var clock = Stopwatch.StartNew();
        Fit = CliProcess.Run(Cache, "fit", "-b", SharedAssets.MobileNetV2Int8, "-d", data, "-o", Model, "--json", "--epochs", "5");
        Console.WriteLine($"fit --json: {clock.Elapsed.TotalSeconds:F1} s");
    }

    public string Cache { get; }
    public string Model { get; }
    public CliProcess.Outcome Fit { get; }
    public string Folder(string name) => _dir.File(name);

    public void Dispose() => _dir.Dispose();
}

/// <summary>
/// <c>--json</c> on fit, train, evaluate, export (and predict, inspect): one JSON object on stdout and nothing else there,
/// snake_case names, progress and notes on stderr; <c>--quiet</c> leaves stderr empty; <c>--verbose</c> adds debug and ORT lines.
/// </summary>
public class JsonOutputTests(FitJsonFixture fx) : IClassFixture<FitJsonFixture>
{
    // The whole of stdout must parse as one JSON document: any other line there fails JsonDocument.Parse.
    private static JsonElement Single(CliProcess.Outcome run)
    {
        Assert.True(run.Code == 0, run.ToString());
        using var doc = JsonDocument.Parse(run.Out);
        Assert.Equal(JsonValueKind.Object, doc.RootElement.ValueKind);
        return doc.RootElement.Clone();
    }

    [Fact]
    public void Fit_json_is_one_object_with_the_model_and_its_evaluation()
    {
        var root = Single(fx.Fit);
        JsonNames.AssertSnakeCase(fx.Fit.Out);
        Assert.Equal(Path.GetFullPath(fx.Model), root.GetProperty("model").GetString());
        Assert.True(File.Exists(fx.Model));
        Assert.Equal(["ants", "bees"], root.GetProperty("classes").EnumerateArray().Select(c => c.GetString()));
        var evaluation = root.GetProperty("evaluation");
        Assert.Equal(8, evaluation.GetProperty("n").GetInt32());
        Assert.InRange(evaluation.GetProperty("accuracy").GetDouble(), 0, 1);
        Assert.Equal(8, root.GetProperty("split").GetProperty("evaluation").GetInt32());
        Assert.Equal(28, root.GetProperty("extraction").GetProperty("items").GetInt32());
        Assert.True(File.Exists(root.GetProperty("report").GetString()));
        Assert.True(File.Exists(root.GetProperty("features").GetString()));
        // Progress and notes still go to stderr.
        Assert.Contains("features on", fx.Fit.Err);
    }

    [Fact]
    public void Train_json_quiet_prints_the_head_and_nothing_on_stderr()
    {
        var features = Single(fx.Fit).GetProperty("features").GetString()!;
        var run = CliProcess.Run(fx.Cache, "train", "-f", features, "-o", fx.Folder("head2"), "--json", "--quiet", "--epochs", "4");
        var root = Single(run);
        JsonNames.AssertSnakeCase(run.Out);
        Assert.Equal("", run.Err);
        Assert.Equal(Path.GetFullPath(fx.Folder("head2")), root.GetProperty("head").GetString());
        Assert.Equal("linear", root.GetProperty("spec").GetString());
        Assert.True(root.GetProperty("metrics").GetProperty("train_rows").GetInt32() > 0);
        Assert.True(File.Exists(Path.Combine(fx.Folder("head2"), "head.json")));
    }

    [Fact]
    public void Evaluate_json_prints_the_report_json()
    {
        var fit = Single(fx.Fit);
        var head = fit.GetProperty("head").GetString()!;
        var run = CliProcess.Run(fx.Cache, "evaluate", "-f", fit.GetProperty("features").GetString()!, "--head", head, "--report", fx.Folder("eval"), "--json");
        var root = Single(run);
        JsonNames.AssertSnakeCase(run.Out, "per_class", "context", "plots");
        Assert.Equal(["ants", "bees"], root.GetProperty("per_class").EnumerateObject().Select(p => p.Name).Order());
        // The same document as the report.json written beside it.
        Assert.Equal(File.ReadAllText(Path.Combine(fx.Folder("eval"), "report.json")).Trim(), run.Out.Trim());
    }

    [Fact]
    public void Export_json_then_predict_json_and_inspect_json_are_snake_case()
    {
        var head = Single(fx.Fit).GetProperty("head").GetString()!;
        var model = fx.Folder("export/m.onnx");
        var export = CliProcess.Run(fx.Cache, "export", "-b", SharedAssets.MobileNetV2Int8, "--head", head, "-o", model, "--json");
        var root = Single(export);
        JsonNames.AssertSnakeCase(export.Out);
        Assert.Equal(new FileInfo(model).Length, root.GetProperty("bytes").GetInt64());
        Assert.Equal(["ants", "bees"], root.GetProperty("labels").EnumerateArray().Select(c => c.GetString()));
        Assert.Equal(224, root.GetProperty("inputs")[0].GetProperty("shape")[3].GetInt32());
        Assert.Equal("float32", root.GetProperty("inputs")[0].GetProperty("element_type").GetString());

        var image = Directory.GetFiles(SharedAssets.Dataset("hymenoptera/val/ants"), "*.jpg").Order(StringComparer.Ordinal).First();
        var predict = CliProcess.Run(fx.Cache, "predict", "-m", model, image, "--json");
        Assert.True(predict.Code == 0, predict.ToString());
        JsonNames.AssertSnakeCase(predict.Out);
        Assert.Equal(image, JsonDocument.Parse(predict.Out).RootElement.GetProperty("file").GetString());

        var inspect = CliProcess.Run(fx.Cache, "inspect", SharedAssets.MobileNetV2Int8, "--json");
        JsonNames.AssertSnakeCase(inspect.Out, "opsets", "ops");
        Assert.True(Single(inspect).GetProperty("feature_candidates").GetArrayLength() > 0);
    }

    [Fact]
    public void Verbose_adds_debug_lines_and_onnx_runtime_log_on_stderr_only()
    {
        var image = Directory.GetFiles(SharedAssets.Dataset("hymenoptera/val/bees"), "*.jpg").Order(StringComparer.Ordinal).First();
        var run = CliProcess.Run(fx.Cache, "predict", "-m", fx.Model, image, "--json", "--verbose");
        Assert.True(run.Code == 0, run.ToString());
        JsonNames.AssertSnakeCase(run.Out);
        Assert.Single(run.Out.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains("debug: OnnxTransfer", run.Err);
        Assert.Contains("debug: exit code 0", run.Err);
        Assert.Contains("ort: ", run.Err);
        Console.WriteLine($"verbose stderr: {run.Err.Split('\n').Length} lines");
    }
}
