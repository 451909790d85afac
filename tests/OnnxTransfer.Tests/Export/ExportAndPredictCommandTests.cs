using System.CommandLine;
using System.Text.Json;
using OnnxTransfer.Cli;
using OnnxTransfer.Export;
using OnnxTransfer.Inference;
using OnnxTransfer.Onnx;

namespace OnnxTransfer.Tests.Export;

[Collection(ExportCollection.Name)]
public class ExportAndPredictCommandTests(ExportFixture fx)
{
    private static (int Code, string Output, string Error) Invoke(params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        var config = new InvocationConfiguration { Output = output, Error = error, EnableDefaultExceptionHandler = false };
        var code = CliApp.Build().Parse(args).Invoke(config);
        return (code, output.ToString(), error.ToString());
    }

    [Fact]
    public void Export_writes_a_model_that_predict_can_use()
    {
        var dir = fx.NewFolder("cli-export");
        var path = Path.Combine(dir, "ants-bees.onnx");
        var (code, text, _) = Invoke("export", "--backbone", SharedAssets.MobileNetV2Int8, "--head", fx.HeadDir, "--out", path, "--embed-preprocessing");
        Assert.Equal(0, code);
        Assert.Contains("probabilities", text);
        Assert.Contains("ants, bees", text);
        var model = OnnxModel.Load(path);
        Assert.Equal(PreprocessingGraph.InputName, Assert.Single(model.Graph.Input).Name);
        Assert.Equal(ModelInputKind.ImageBytes, ModelMetadata.Read(model).InputKind);

        var (predictCode, json, _) = Invoke("predict", "--model", path, fx.TestImages[0], "--json");
        Assert.Equal(0, predictCode);
        using var line = JsonDocument.Parse(json.Trim());
        using var direct = TransferModel.Load(fx.BytesModelPath);
        Assert.Equal(direct.Predict(fx.TestImages[0]).Label, line.RootElement.GetProperty("label").GetString());
    }

    [Fact]
    public void Predict_reports_a_corrupt_file_and_labels_the_rest()
    {
        var folder = fx.NewFolder("cli-images");
        var nested = Directory.CreateDirectory(Path.Combine(folder, "more")).FullName;
        var good1 = Path.Combine(folder, "a.jpg");
        var good2 = Path.Combine(nested, "c.jpg");
        File.Copy(fx.TestImages[0], good1);
        File.Copy(fx.TestImages[5], good2);
        var bad = Path.Combine(folder, "b.jpg");
        File.WriteAllBytes(bad, [0xFF, 0xD8, 0xFF, 0xE0, 0, 16, (byte)'J', (byte)'F', 1, 2, 3]);
        File.WriteAllText(Path.Combine(folder, "notes.txt"), "not an image, not listed");

        var (code, text, error) = Invoke("predict", "--model", fx.FloatModelPath, folder, "--json", "--batch", "2", "--top", "2", "--device", "cpu");
        Assert.Equal(0, code);
        var lines = text.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement).ToArray();
        Assert.Equal([good1, bad, good2], lines.Select(l => l.GetProperty("file").GetString()));
        Assert.Contains("b.jpg", lines[1].GetProperty("error").GetString());
        Assert.Contains("b.jpg", error);

        using var model = TransferModel.Load(fx.FloatModelPath);
        foreach (var (line, file) in new[] { (lines[0], fx.TestImages[0]), (lines[2], fx.TestImages[5]) })
        {
            var expected = model.Predict(file);
            Assert.Equal(expected.Label, line.GetProperty("label").GetString());
            Assert.Equal(expected.Score, line.GetProperty("score").GetDouble(), 5);
            var top = line.GetProperty("top").EnumerateArray().ToArray();
            Assert.Equal(2, top.Length);
            Assert.Equal(expected.Label, top[0].GetProperty("label").GetString());
            Assert.True(top[0].GetProperty("score").GetDouble() >= top[1].GetProperty("score").GetDouble());
        }

        var (tableCode, table, _) = Invoke("predict", "--model", fx.FloatModelPath, good1, bad);
        Assert.Equal(0, tableCode);
        Assert.Contains(model.Predict(good1).Label, table);
        Assert.Contains("error", table);
        Assert.Contains("1 labelled", table);
        Assert.Contains("1 failed", table);
        Assert.Contains("recognised", table); // the reason, word-wrapped in the cell
    }

    [Fact]
    public void Predict_fails_only_when_every_file_fails()
    {
        var folder = fx.NewFolder("cli-bad");
        var bad = Path.Combine(folder, "broken.png");
        File.WriteAllText(bad, "not a png");
        var missing = Path.Combine(folder, "missing.jpg");
        var (code, text, error) = Invoke("predict", "--model", fx.FloatModelPath, bad, missing, "--json");
        Assert.Equal(1, code);
        Assert.Equal(2, text.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);
        Assert.Contains("broken.png", error);
        Assert.Contains("missing.jpg: no such file or folder", error);
    }

    [Fact]
    public void Predict_with_a_model_not_exported_by_OnnxTransfer_says_so()
    {
        var e = Assert.ThrowsAny<OnnxTransferException>(() => Invoke("predict", "--model", SharedAssets.MobileNetV2Int8, fx.TestImages[0]));
        Assert.Contains("not exported by OnnxTransfer", e.Message);
    }
}
