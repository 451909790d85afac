using System.Reflection;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;
using OnnxTransfer.Backbones;
using OnnxTransfer.Cli;
using OnnxTransfer.Curves;
using OnnxTransfer.Diagnostics;
using OnnxTransfer.Evaluation;
using OnnxTransfer.Training.Heads;
using OnnxTransfer.WakeWords;

namespace OnnxTransfer.Tests.Json;

/// <summary>One JSON style: every context the toolkit serialises with is snake_case, and so is every file and output it writes.</summary>
public class JsonStyleTests
{
    private static IEnumerable<JsonSerializerContext> Contexts() =>
        new[] { typeof(JsonText), typeof(CliApp), typeof(CurveReport), typeof(OnnxTransfer.Inference.TransferModel), typeof(OnnxTransfer.Hosting.TransferModelOptions) }
            .Select(t => t.Assembly).Distinct()
            .SelectMany(a => a.GetTypes())
            .Where(t => t.IsSubclassOf(typeof(JsonSerializerContext)) && !t.IsAbstract)
            .Select(t => (JsonSerializerContext)t.GetProperty("Default", BindingFlags.Public | BindingFlags.Static)!.GetValue(null)!);

    [Fact]
    public void Every_generated_context_uses_snake_case_and_every_property_it_writes_is_snake_case()
    {
        var contexts = Contexts().ToArray();
        // Backbones, Curves (Analysis), Diagnostics, Features, FineTuning, Heads, WakeWords and the CLI's outputs.
        Assert.True(contexts.Length >= 8, $"found only {contexts.Length} contexts");
        var bad = new List<string>();
        var objects = 0;
        foreach (var context in contexts)
        {
            Assert.Same(JsonNamingPolicy.SnakeCaseLower, context.Options.PropertyNamingPolicy);
            foreach (var info in context.GetType().GetProperties().Where(p => typeof(JsonTypeInfo).IsAssignableFrom(p.PropertyType))
                         .Select(p => (JsonTypeInfo)p.GetValue(context)!).Where(i => i.Kind == JsonTypeInfoKind.Object))
            {
                objects++;
                bad.AddRange(info.Properties.Where(p => !JsonNames.IsSnakeCase(p.Name)).Select(p => $"{info.Type.Name}.{p.Name}"));
            }
        }
        Assert.True(objects >= 30, $"only {objects} object types checked");
        Assert.Empty(bad);
    }

    [Fact]
    public void Head_json_is_snake_case()
    {
        using var dir = new TempDir();
        var features = Enumerable.Range(0, 40).Select(i => (float)Math.Sin(i * 0.7)).ToArray();
        var labels = Enumerable.Range(0, 20).Select(i => i % 2).ToArray();
        var result = Trainer.Fit(TrainingSet.SingleLabel(features, 2, labels, ["no", "yes"]), null,
            new TrainingOptions { Epochs = 2, ValidationFraction = 0, Patience = 0 }, dir.File("head"));
        var json = File.ReadAllText(dir.File("head/head.json"));
        JsonNames.AssertSnakeCase(json);
        Assert.Contains("\"feature_dimension\": 2", json);
        Assert.Contains("\"class_weighting\"", json);
        Assert.Equal(result.Info.Metrics, HeadInfo.Load(dir.File("head")).Metrics);
    }

    [Fact]
    public void Evaluation_report_json_is_snake_case()
    {
        var metrics = ClassificationMetrics.Compute([0, 1, 1, 0], [0.8f, 0.2f, 0.3f, 0.7f, 0.1f, 0.9f, 0.6f, 0.4f], ["cat", "Dog Breed"]);
        var json = EvaluationReport.From(metrics, new Dictionary<string, string> { ["modelPath"] = "m.onnx" }).ToJson();
        JsonNames.AssertSnakeCase(json, "per_class", "context", "plots");
        Assert.Contains("\"balanced_accuracy\"", json);
    }

    [Fact]
    public void Curve_json_is_snake_case()
    {
        using var dir = new TempDir();
        var result = new CurveResult("data", "mobilenet", ["a", "b"], "val", new Dictionary<string, int> { ["a"] = 2, ["b"] = 2 },
            new Dictionary<string, int> { ["a"] = 5, ["b"] = 5 }, new Dictionary<string, string> { ["min_steps"] = "100" },
            [new CurveRun(CurveMethod.Frozen, 5, 1, 10, 3, 0.75, 0.75, 1.5)], 2.0);
        CurveReport.WriteJson(result, dir.File("curve.json"));
        var json = File.ReadAllText(dir.File("curve.json"));
        JsonNames.AssertSnakeCase(json, "eval_counts", "pool_counts", "settings");
        Assert.Contains("\"accuracy_sd\": \"NaN\"", json);
        Assert.Equal(result.Runs, CurveReport.ReadJson(dir.File("curve.json")).Runs);
    }

    [Fact]
    public void Synth_json_is_snake_case()
    {
        using var dir = new TempDir();
        var manifest = new SynthesisManifest("hey there", 7, ["espeak"], ["espeak:en"], ["espeak:de"],
            [new SynthesizedClip("train/positive/0.wav", "train", "positive", "phrase", "hey there", "espeak:en", "espeak:en+rate=1.1", 0.8)]);
        manifest.Write(dir.Path);
        JsonNames.AssertSnakeCase(File.ReadAllText(dir.File(SynthesisManifest.FileName)));
        var again = SynthesisManifest.TryRead(dir.Path)!;
        Assert.Equal(manifest.Clips, again.Clips);
        Assert.Equal("hey there", WakeWordTrainer.PhraseOf(dir.Path));
    }

    [Fact]
    public void Doctor_json_is_snake_case()
    {
        using var home = new TempDir();
        var registry = new BackboneRegistry(BackboneRegistry.BuiltInManifests, new BackboneLocations(home.Path, [], AllowNetwork: false));
        var json = Doctor.Run(registry).ToJson();
        JsonNames.AssertSnakeCase(json);
        Assert.Contains("\"onnx_runtime_version\"", json);
    }

    [Fact]
    public void Backbone_manifests_in_the_repository_and_as_written_are_snake_case()
    {
        foreach (var file in Directory.GetFiles(Path.Combine(SharedAssets.RepoRoot, "models"), "*.json"))
            JsonNames.AssertSnakeCase(File.ReadAllText(file), "paths");
        foreach (var m in BackboneRegistry.BuiltInManifests)
            JsonNames.AssertSnakeCase(m.ToJson(), "paths");
        var resnet = BackboneRegistry.BuiltInManifests.Single(m => m.Name == "resnet18").ToJson();
        Assert.Contains("\"nuget\"", resnet);
        Assert.Contains("\"dynamic_batch\": true", resnet);
        Assert.Contains("\"kind\": \"image\"", resnet);
    }

    [Fact]
    public void Wake_word_evaluation_report_json_is_snake_case_down_to_its_det_points()
    {
        var point = new DetPoint(0.5, 0.1, 0.25);
        var report = new WakeWordReportFile(1, ["p/alice_1.wav"], ["alice"], [new NegativeStreamEntry("speech", 3)], ["bob"], 0.5,
            [new WakeWordReportModel("m.onnx", "hey", 0.5, 0.5, point, point, null, [0.9], [new FalseAccept("n/bob_2.wav", 12.5, 0.7f)], [point],
                [new SpeakerMisses("alice", 1, 0)])]);
        var json = JsonText.Write(report, WakeWordsJson.Default.WakeWordReportFile);
        JsonNames.AssertSnakeCase(json);
        Assert.Contains("\"false_accepts_per_hour\": 0.25", json);
        Assert.Contains("\"target_fa_per_hour\": 0.5", json);
        Assert.Contains("\"misses_by_speaker\"", json);
    }

    [Fact]
    public void Wake_word_metadata_json_is_snake_case()
    {
        var calibration = JsonText.Write(new ThresholdCalibration(0.6, 0.5, 0.4, 2, "synthetic", null), WakeWordsJson.Default.ThresholdCalibration, indented: false);
        JsonNames.AssertSnakeCase(calibration);
        Assert.Contains("\"target_false_accepts_per_hour\":0.5", calibration);
        Assert.Contains("\"val_false_reject_rate\":null", calibration);
        JsonNames.AssertSnakeCase(JsonText.Write(new HeadMetrics { ValLoss = 0.1 }, WakeWordsJson.Default.HeadMetrics));
    }

    [Fact]
    public void Text_stays_readable_and_round_trips()
    {
        var info = new HeadInfo { Spec = "mlp:8+layernorm", Classes = ["café", "\"quoted\""], FeatureDimension = 3 };
        var json = JsonText.Write(info, HeadsJson.Default.HeadInfo);
        Assert.Contains("mlp:8+layernorm", json);
        Assert.Contains("café", json);
        Assert.Equal(info.Classes, JsonText.Read(json, HeadsJson.Default.HeadInfo)!.Classes);
    }
}
