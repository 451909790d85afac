using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Logging;
using OnnxTransfer.Export;
using OnnxTransfer.Inference;
using OnnxTransfer.Tests.Export;

namespace OnnxTransfer.Tests.Hosting;

/// <summary>The health check: Healthy when the model loads and labels a probe, Unhealthy with the reason otherwise.</summary>
[Collection(ExportCollection.Name)]
public class TransferModelHealthCheckTests(ExportFixture fx)
{
    [Fact]
    public async Task Healthy_when_the_model_loads_and_labels_the_probe()
    {
        var logs = new ListLoggerFactory();
        await using var services = Services(logs, s => s.AddTransferModel(o => o.ModelPath = fx.FloatModelPath));

        var entry = await Check(services);
        Assert.Equal(HealthStatus.Healthy, entry.Status);
        Assert.StartsWith("model.onnx on CPUExecutionProvider: the probe was labelled ", entry.Description);
        Assert.Equal(2, entry.Data["labels"]);
        var loaded = Assert.Single(logs.At(LogLevel.Information, ModelCategory));
        Assert.StartsWith("Loaded model.onnx (ImageTensor, 2 labels) on CPUExecutionProvider", loaded.Message);
        // The singleton is loaded once: a second check reuses it.
        Assert.Equal(HealthStatus.Healthy, (await Check(services)).Status);
        Assert.Single(logs.At(LogLevel.Information, ModelCategory));
    }

    [Fact]
    public async Task Unhealthy_with_the_load_error_and_healthy_once_the_file_is_fixed()
    {
        var dir = fx.NewFolder("health");
        var path = Path.Combine(dir, "broken.onnx");
        File.WriteAllText(path, "not a model");
        var logs = new ListLoggerFactory();
        await using var services = Services(logs, s => s.AddTransferModel(o => o.ModelPath = path));

        var entry = await Check(services);
        Assert.Equal(HealthStatus.Unhealthy, entry.Status);
        Assert.StartsWith($"model not loaded: {path}", entry.Description);
        Assert.DoesNotContain('\n', entry.Description);
        Assert.IsAssignableFrom<OnnxTransferException>(entry.Exception);
        var error = Assert.Single(logs.At(LogLevel.Error, ModelCategory));
        Assert.Contains("broken.onnx", error.Message);

        // A failed load is not cached: replacing the file heals the service without a restart.
        File.Copy(fx.FloatModelPath, path, overwrite: true);
        Assert.Equal(HealthStatus.Healthy, (await Check(services)).Status);
    }

    [Fact]
    public async Task Unhealthy_when_the_probe_prediction_fails_or_is_not_finite()
    {
        await using (var services = Services(new ListLoggerFactory(), s => s.AddSingleton<ITransferModel>(new FakeModel(_ => throw new ProbeFailure()))))
        {
            var entry = await Check(services);
            Assert.Equal(HealthStatus.Unhealthy, entry.Status);
            Assert.Equal("fake.onnx: the probe prediction failed: health probe: the fake cannot decode it.", entry.Description);
        }
        await using (var services = Services(new ListLoggerFactory(), s => s.AddSingleton<ITransferModel>(new FakeModel(_ => [float.NaN, 0.5f]))))
        {
            var entry = await Check(services);
            Assert.Equal(HealthStatus.Unhealthy, entry.Status);
            Assert.Contains("non-finite probabilities", entry.Description);
        }
        await using (var services = Services(new ListLoggerFactory(), s => s.AddSingleton<ITransferModel>(new FakeModel(_ => [0.25f, 0.75f]))))
        {
            var entry = await Check(services);
            Assert.Equal(HealthStatus.Healthy, entry.Status);
            Assert.Equal("fake.onnx on FakeProvider: the probe was labelled b (0.750)", entry.Description);
        }
    }

    [Fact]
    public async Task The_probe_of_a_speech_model_is_a_wav_clip()
    {
        byte[]? seen = null;
        var fake = new FakeModel(bytes => { seen = bytes; return [1f, 0f]; }, ModelInputKind.SpeechEmbeddings);
        await using var services = Services(new ListLoggerFactory(), s => s.AddSingleton<ITransferModel>(fake));
        Assert.Equal(HealthStatus.Healthy, (await Check(services)).Status);
        var clip = OnnxTransfer.Audio.WavReader.Read(new MemoryStream(seen!), "probe");
        Assert.Equal(16000, clip.SampleRate);
        Assert.Equal(16000, clip.Samples.Length);
    }

    private const string ModelCategory = "OnnxTransfer.TransferModel";

    private static ServiceProvider Services(ListLoggerFactory logs, Action<IServiceCollection> register)
    {
        // What AddLogging registers, with the list factory: the health check service takes an ILogger<T>.
        var services = new ServiceCollection().AddSingleton<ILoggerFactory>(logs).AddSingleton(typeof(ILogger<>), typeof(Logger<>));
        register(services);
        services.AddHealthChecks().AddTransferModelHealthCheck();
        return services.BuildServiceProvider();
    }

    private static async Task<HealthReportEntry> Check(IServiceProvider services)
    {
        var report = await services.GetRequiredService<HealthCheckService>().CheckHealthAsync();
        return Assert.Single(report.Entries, e => e.Key == "transfer-model").Value;
    }

    private sealed class ProbeFailure() : OnnxTransferException("health probe: the fake cannot decode it.");

    /// <summary>A two-label model that answers from <paramref name="predict"/>: what an app's tests substitute for a real model.</summary>
    private sealed class FakeModel(Func<byte[], float[]> predict, ModelInputKind kind = ModelInputKind.ImageTensor) : ITransferModel
    {
        public string Name => "fake.onnx";
        public IReadOnlyList<string> Labels { get; } = ["a", "b"];
        public ModelInputKind InputKind => kind;
        public string Provider => "FakeProvider";
        public Prediction Predict(string path) => Predict(File.ReadAllBytes(path), path);
        public Prediction Predict(byte[] encoded, string name = "image")
        {
            var p = predict(encoded);
            return new Prediction(Labels, p, p[1] > p[0] ? 1 : 0);
        }
    }
}
