using OnnxTransfer.Cli.Rendering;
using OnnxTransfer.Inference;

namespace OnnxTransfer.Tests.Inference;

public class PredictionTableTests
{
    [Fact]
    public void Redirected_tables_keep_long_paths_on_one_line()
    {
        var path = "/data/" + string.Join('/', Enumerable.Range(0, 12).Select(i => $"folder-{i:D2}")) + "/image.jpg"; // ~120 characters
        var results = new[]
        {
            new FilePrediction(path, new Prediction(["ants", "bees"], [0.25f, 0.75f], 1), null),
            new FilePrediction(path + ".bad", null, $"{path}.bad: not an image; remove it"),
        };
        using var output = new StringWriter();
        PredictionRenderer.WriteTable(output, results, top: 1);
        var lines = output.ToString().Split('\n');

        Assert.True(path.Length > 100);
        Assert.Contains(lines, l => l.Contains(path) && l.Contains("bees") && l.Contains("75"));
        Assert.Contains(lines, l => l.Contains(path + ".bad") && l.Contains("not an image"));
    }
}
