using System.Text.Json;
using System.Text.Json.Nodes;
using OnnxTransfer.Backbones;
using OnnxTransfer.Curves;
using OnnxTransfer.Export;
using OnnxTransfer.Training.FineTuning;
using OnnxTransfer.Training.Heads;
using OnnxTransfer.WakeWords;

namespace OnnxTransfer.Tests.Json;

/// <summary>Files written by older versions, in camelCase or PascalCase, are still read.</summary>
public class LegacyJsonTests
{
    // What older versions wrote: System.Text.Json's reflection serializer with their own naming (PascalCase when none was set).
    private static readonly JsonSerializerOptions Pascal = new() { WriteIndented = true, TypeInfoResolver = new System.Text.Json.Serialization.Metadata.DefaultJsonTypeInfoResolver() };

    private static string Recase(string json, Func<string, string> name)
    {
        static JsonNode? Walk(JsonNode? node, Func<string, string> name, bool isMap) => node switch
        {
            JsonObject o => new JsonObject(o.Select(kv => KeyValuePair.Create(isMap ? kv.Key : name(kv.Key), Walk(kv.Value, name, kv.Key == "paths")))),
            JsonArray a => new JsonArray(a.Select(v => Walk(v, name, false)).ToArray()),
            _ => node?.DeepClone(),
        };
        return Walk(JsonNode.Parse(json), name, false)!.ToJsonString();
    }

    private static string Camel(string snake) => JsonNamingPolicy.CamelCase.ConvertName(string.Concat(snake.Split('_').Select(w => w.Length == 0 ? w : char.ToUpperInvariant(w[0]) + w[1..])));

    [Fact]
    public void A_camel_case_backbone_manifest_reads_as_the_snake_case_one()
    {
        foreach (var name in new[] { "openwakeword", "resnet18", "mobilenetv2-12-int8" })
        {
            var current = BackboneRegistry.BuiltInManifests.Single(m => m.Name == name);
            var old = Recase(current.ToJson(), Camel);
            Assert.Contains(name == "openwakeword" ? "\"sampleRate\"" : "\"featureTensor\"", old);
            var read = BackboneManifest.Parse(old, $"{name}.json");
            Assert.Equal(current.ToJson(), read.ToJson());
        }
    }

    [Fact]
    public void A_repeated_key_is_read_as_before_the_last_one_wins()
    {
        var current = BackboneRegistry.BuiltInManifests.Single(m => m.Name == "mobilenetv2-7").ToJson();
        var repeated = current.Replace("\"licence\":", "\"licence\": \"first\",\n  \"licence\":");
        Assert.Equal(current, BackboneManifest.Parse(repeated, "m.json").ToJson());
    }

    [Fact]
    public void Nuget_paths_keep_their_file_names()
    {
        var current = BackboneRegistry.BuiltInManifests.Single(m => m.Name == "resnet18");
        var old = Recase(current.ToJson(), Camel);
        Assert.Equal(current.NuGet!.Paths.Keys.Order(), BackboneManifest.Parse(old, "resnet18.json").NuGet!.Paths.Keys.Order());
    }

    [Fact]
    public void A_pascal_case_synth_json_from_an_older_version_is_read()
    {
        using var dir = new TempDir();
        var manifest = new SynthesisManifest("hey there", 7, ["espeak"], ["espeak:en"], ["espeak:de"],
            [new SynthesizedClip("train/negative/0.wav", "train", "negative", "near-miss", "hey hair", "espeak:en", "espeak:en+rate=1.1", 0.8)]);
        File.WriteAllText(dir.File(SynthesisManifest.FileName), JsonSerializer.Serialize(manifest, Pascal));
        Assert.Contains("\"TrainSpeakers\"", File.ReadAllText(dir.File(SynthesisManifest.FileName)));
        var read = SynthesisManifest.TryRead(dir.Path)!;
        Assert.Equal(manifest.Clips, read.Clips);
        Assert.Equal(manifest.ValSpeakers, read.ValSpeakers);
        Assert.Equal("hey there", WakeWordTrainer.PhraseOf(dir.Path));
    }

    [Fact]
    public void A_pascal_case_head_json_is_read()
    {
        using var dir = new TempDir();
        var info = new HeadInfo
        {
            Spec = "mlp:4", Task = HeadTask.MultiClass, Classes = ["a", "b", "c"], FeatureDimension = 5, FeatureSource = "x",
            Metrics = new HeadMetrics { EpochsRun = 3, ValLoss = 0.25 }, Training = new TrainingOptions { Epochs = 7, Seed = 9 },
        };
        File.WriteAllText(dir.File(HeadInfo.FileName), JsonSerializer.Serialize(info, Pascal));
        var read = HeadInfo.Load(dir.Path);
        Assert.Equal((info.Spec, info.Task, 5, "x"), (read.Spec, read.Task, read.FeatureDimension, read.FeatureSource));
        Assert.Equal(info.Classes, read.Classes);
        Assert.Equal(info.Metrics, read.Metrics);
        Assert.Equal((7, 9UL), (read.Training.Epochs, read.Training.Seed));
    }

    [Fact]
    public void Curve_settings_written_in_pascal_case_still_match_for_resuming()
    {
        var head = new TrainingOptions { Epochs = 12, Spec = HeadSpec.Parse("mlp:16") };
        var fineTune = new FineTuneOptions { Unfreeze = 2, Augmentation = OnnxTransfer.Imaging.ImageAugmentation.Light };
        Assert.Equal(JsonText.Write(head, HeadsJson.Default.TrainingOptions, indented: false),
            TransferCurve.Canonical("head_training", JsonSerializer.Serialize(head, Pascal)));
        Assert.Equal(JsonText.Write(fineTune, FineTuningJson.Default.FineTuneOptions, indented: false),
            TransferCurve.Canonical("fine_tune", JsonSerializer.Serialize(fineTune, Pascal)));
        Assert.Equal("stratified id rank", TransferCurve.Canonical("subsets", "stratified id rank"));
    }

    [Fact]
    public void Model_labels_written_with_escaped_text_are_read()
    {
        // Older exports escaped every non-ASCII character; this version writes them as they are.
        var old = new Dictionary<string, string> { ["onnxtransfer.labels"] = "[\"caf\\u00E9\",\"b\\u002Bc\"]" };
        Assert.Equal(["café", "b+c"], ModelMetadata.Read(old, "old.onnx").Labels);
        var model = OnnxTransfer.Onnx.OnnxModel.Create("m", 13);
        new ModelMetadata { Labels = ["café", "b+c"], InputKind = ModelInputKind.Features }.WriteTo(model);
        Assert.Equal("[\"café\",\"b+c\"]", model.Metadata["onnxtransfer.labels"]);
        Assert.Equal(["café", "b+c"], ModelMetadata.Read(model).Labels);
    }
}
