using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using OnnxTransfer.Backbones;
using OnnxTransfer.Data;
using OnnxTransfer.Inference;
using OnnxTransfer.Runtime;
using OnnxTransfer.Tests.Export;
using Xunit.Abstractions;

namespace OnnxTransfer.Tests.Hosting;

/// <summary>The device fallback and skipped files reach the caller's ILogger as warnings.</summary>
[Collection(ExportCollection.Name)]
public class LoggingTests(ExportFixture fx, ITestOutputHelper output)
{
    [Fact]
    public void Auto_falling_back_to_cpu_is_logged_once_as_a_warning()
    {
        var logs = new ListLoggerFactory();
        var logger = logs.CreateLogger("test");
        using (var sessions = SessionFactory.Create(ExecutionDevice.Auto, null, _ => new CudaStatus(true, false, "no GPU in this machine", []), logger))
        {
            Assert.Equal(SessionFactory.CpuProvider, sessions.Provider);
            var warning = Assert.Single(logs.Entries);
            Assert.Equal(LogLevel.Warning, warning.Level);
            Assert.Equal($"Device auto fell back to CPUExecutionProvider: {sessions.Warning}", warning.Message);
            Assert.Contains("no GPU in this machine", warning.Message);
        }
        // CPU asked for: nothing to report.
        using (SessionFactory.Create(ExecutionDevice.Cpu, null, _ => throw new InvalidOperationException("not consulted"), logger))
            Assert.Single(logs.Entries);
    }

    [Fact]
    public void A_hosted_model_on_auto_logs_its_device_warning()
    {
        var logs = new ListLoggerFactory();
        using var services = new ServiceCollection().AddSingleton<ILoggerFactory>(logs)
            .AddTransferModel(o => { o.ModelPath = fx.FloatModelPath; o.Device = "auto"; })
            .BuildServiceProvider();
        var model = (TransferModel)services.GetRequiredService<ITransferModel>();
        var warnings = logs.At(LogLevel.Warning);
        output.WriteLine($"auto ran on {model.Provider}; warning: {model.DeviceWarning ?? "none"}");
        // Without a usable GPU (this build or machine) auto falls back and says so; with one there is nothing to say.
        if (model.DeviceWarning is null)
            Assert.Empty(warnings);
        else
            Assert.Contains(model.DeviceWarning, Assert.Single(warnings).Message);
        Assert.All(logs.Entries, e => Assert.Equal("OnnxTransfer.TransferModel", e.Category));
    }

    [Fact]
    public void PredictFiles_logs_each_skipped_file()
    {
        var dir = fx.NewFolder("skipped");
        var corrupt = Path.Combine(dir, "corrupt.jpg");
        File.WriteAllBytes(corrupt, [0xFF, 0xD8, 0xFF, 0x00, 1, 2, 3]);
        var missing = Path.Combine(dir, "missing.jpg");
        var logs = new ListLoggerFactory();
        using var model = TransferModel.Load(fx.FloatModelPath, ExecutionDevice.Cpu, logger: logs.CreateLogger("files"));

        var results = model.PredictFiles([fx.TestImages[0], corrupt, missing, fx.TestImages[1]], batchSize: 3).ToArray();
        Assert.Equal([true, false, false, true], results.Select(r => r.Succeeded));
        var warnings = logs.At(LogLevel.Warning);
        Assert.Equal(2, warnings.Count);
        Assert.Equal($"model.onnx: skipped a file: {results[1].Error}", warnings[0].Message);
        Assert.Equal($"model.onnx: skipped a file: {results[2].Error}", warnings[1].Message);
        Assert.Contains("corrupt.jpg", warnings[0].Message);
        Assert.Contains("missing.jpg", warnings[1].Message);
    }

    [Fact]
    public async Task Extraction_logs_each_skipped_item()
    {
        var dir = fx.NewFolder("extract");
        var corrupt = Path.Combine(dir, "corrupt.jpg");
        File.WriteAllBytes(corrupt, [1, 2, 3, 4]);
        DatasetItem[] items =
        [
            new(fx.TestImages[0], "good", "ants", "train"),
            new(corrupt, "bad", "bees", "train"),
        ];
        var logs = new ListLoggerFactory();
        var options = new FeatureBackboneOptions { Logger = logs.CreateLogger("extract") };
        using var backbone = await FeatureBackbone.LoadAsync(ExportFixture.BackboneName, options, registry: fx.Registry);

        var summary = await backbone.ExtractAsync(items, Path.Combine(dir, "features.parquet"), new() { Threads = 1 });
        Assert.Equal(1, summary.Written);
        Assert.Equal(1, summary.Errors);
        var warning = Assert.Single(logs.At(LogLevel.Warning));
        Assert.StartsWith("Skipped bad: ", warning.Message);
        Assert.Contains("corrupt.jpg", warning.Message);
    }
}
