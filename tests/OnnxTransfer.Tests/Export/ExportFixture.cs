using System.Diagnostics;
using Microsoft.ML.OnnxRuntime;
using OnnxTransfer.Backbones;
using OnnxTransfer.Export;
using OnnxTransfer.Imaging;
using OnnxTransfer.Onnx;
using OnnxTransfer.Training.Heads;

namespace OnnxTransfer.Tests.Export;

/// <summary>
/// A real trained head, built once for every export/inference test: MobileNetV2-int8 (resolved by name from a
/// registry whose only source is the shared models folder) cut at its manifest feature tensor, features of 20
/// hymenoptera training images, a linear head trained for a few epochs, and both exports (float input and
/// uint8 input with embedded preprocessing) written to disk.
/// </summary>
public sealed class ExportFixture : IDisposable
{
    public const string BackboneName = "mobilenetv2-12-int8";
    private readonly TempDir _dir = new();

    public ExportFixture()
    {
        var clock = Stopwatch.StartNew();
        Registry = new BackboneRegistry(BackboneRegistry.BuiltInManifests,
            new BackboneLocations(Path.Combine(_dir.Path, "cache"), [SharedAssets.Models], AllowNetwork: false));
        Backbone = Registry.ResolveAsync(BackboneName).GetAwaiter().GetResult();
        Preprocessing = Backbone.Preprocessing;
        Encoder = new ImageEncoder(Preprocessing);
        CutModel = BackboneCutter.Cut(OnnxModel.Load(Backbone.ModelPath), new CutOptions { At = Backbone.FeatureTensor });
        CutSession = new InferenceSession(CutModel.ToBytes());

        var root = SharedAssets.Dataset("hymenoptera");
        string[] Pick(string split, string cls, int n) =>
            Directory.GetFiles(Path.Combine(root, split, cls), "*.jpg").Order(StringComparer.Ordinal).Take(n).ToArray();
        var train = Pick("train", "ants", 10).Concat(Pick("train", "bees", 10)).ToArray();
        TestImages = Pick("val", "ants", 3).Concat(Pick("val", "bees", 3)).ToArray();

        var features = Features(train);
        var labels = train.Select(p => p.Contains("/ants/", StringComparison.Ordinal) ? 0 : 1).ToArray();
        HeadDir = Path.Combine(_dir.Path, "head");
        Trainer.Fit(TrainingSet.SingleLabel(features, 1280, labels, ["ants", "bees"]), null,
            new TrainingOptions { Epochs = 5, BatchSize = 8, LearningRate = 0.01, ValidationFraction = 0, Patience = 0, Seed = 3 },
            HeadDir);

        FloatModelPath = Path.Combine(_dir.Path, "float", "model.onnx");
        ModelExporter.ExportAsync(Backbone, HeadDir).GetAwaiter().GetResult().Save(FloatModelPath);
        BytesModelPath = Path.Combine(_dir.Path, "bytes", "model.onnx");
        ModelExporter.ExportAsync(Backbone, HeadDir, new ExportOptions { EmbedPreprocessing = true }).GetAwaiter().GetResult().Save(BytesModelPath);
        SetupSeconds = clock.Elapsed.TotalSeconds;
    }

    public BackboneRegistry Registry { get; }
    public ResolvedBackbone Backbone { get; }
    public ImagePreprocessing Preprocessing { get; }
    internal ImageEncoder Encoder { get; }
    public OnnxModel CutModel { get; }
    public InferenceSession CutSession { get; }
    public string HeadDir { get; }
    public string FloatModelPath { get; }
    public string BytesModelPath { get; }
    public string[] TestImages { get; }
    public double SetupSeconds { get; }

    /// <summary>A scratch folder below the fixture's temp folder.</summary>
    public string NewFolder(string name)
    {
        var path = Path.Combine(_dir.Path, name + "-" + Guid.NewGuid().ToString("N")[..6]);
        Directory.CreateDirectory(path);
        return path;
    }

    /// <summary>The preprocessed float input of <paramref name="images"/> ([N,3,224,224] row-major).</summary>
    public float[] Inputs(IReadOnlyList<string> images)
    {
        var sample = 3 * 224 * 224;
        var x = new float[images.Count * sample];
        for (var i = 0; i < images.Count; i++) Encoder.Encode(images[i], x.AsSpan(i * sample, sample));
        return x;
    }

    /// <summary>Backbone features of <paramref name="images"/> from the cut model alone ([N,1280]).</summary>
    public float[] Features(IReadOnlyList<string> images) => RunFloat(CutSession, "input", Inputs(images), [images.Count, 3, 224, 224], BackboneCutter.FeaturesOutput);

    /// <summary>Runs one float input through <paramref name="session"/> and returns one float output.</summary>
    public static float[] RunFloat(InferenceSession session, string input, float[] x, long[] shape, string output)
    {
        using var value = OrtValue.CreateTensorValueFromMemory(x, shape);
        using var run = new RunOptions();
        using var result = session.Run(run, [input], [value], [output]);
        return result[0].GetTensorDataAsSpan<float>().ToArray();
    }

    public void Dispose()
    {
        CutSession.Dispose();
        _dir.Dispose();
    }
}

[CollectionDefinition(Name)]
public sealed class ExportCollection : ICollectionFixture<ExportFixture>
{
    public const string Name = "exported head";
}
