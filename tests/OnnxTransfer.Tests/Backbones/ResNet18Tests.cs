using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using OnnxTransfer.Backbones;
using OnnxTransfer.Data;
using OnnxTransfer.Features;
using OnnxTransfer.Imaging;
using OnnxTransfer.Onnx;

namespace OnnxTransfer.Tests.Backbones;

/// <summary>
/// Pulls the real resnet18 once (from the NuGet global packages folder, which the test project's PackageDownload
/// fills on restore; a configured source otherwise) into a cache of its own.
/// </summary>
public sealed class ResNet18Fixture : IDisposable
{
    private readonly TempDir _dir = new();

    public ResNet18Fixture()
    {
        var registry = new BackboneRegistry(BackboneRegistry.BuiltInManifests, new BackboneLocations(_dir.File("cache"), []));
        Registry = registry;
        Resolved = registry.ResolveAsync("resnet18").GetAwaiter().GetResult();
    }

    public BackboneRegistry Registry { get; }

    public ResolvedBackbone Resolved { get; }

    public void Dispose() => _dir.Dispose();
}

/// <summary>resnet18: the prepared model equals the package's two models run in turn, and extraction batches.</summary>
public class ResNet18Tests(ResNet18Fixture fixture) : IClassFixture<ResNet18Fixture>
{
    private static float[] Run(string modelPath, float[] x, int batch)
    {
        using var session = new InferenceSession(modelPath);
        var input = session.InputMetadata.Keys.Single();
        using var results = session.Run([NamedOnnxValue.CreateFromTensor(input, new DenseTensor<float>(x, [batch, 3, 224, 224]))]);
        return results.Single().AsEnumerable<float>().ToArray();
    }

    [Fact]
    public void The_prepared_model_is_a_free_batch_graph_at_the_toolkit_opset()
    {
        var model = OnnxModel.Load(fixture.Resolved.ModelPath);
        Assert.Equal(OnnxModel.DefaultOpset, model.OpsetVersion());
        Assert.Equal(BackbonePreparer.BatchSymbol, model.Graph.Input.Single().Type.TensorType.Shape.Dim[0].DimParam);
        Assert.Equal("resnet18.onnx", Path.GetFileName(fixture.Resolved.ModelPath));
    }

    [Fact]
    public void Our_preprocessing_and_the_prepared_model_equal_ResNetPreprocess_then_ResNet18()
    {
        var encoder = new ImageEncoder(fixture.Resolved.Preprocessing);
        var photos = new[] { "dog.jpg", "cat.jpg" }.Select(p => encoder.Encode(SharedAssets.Photo(p))).ToArray();
        var x = photos.SelectMany(p => p).ToArray();

        var preprocessed = Run(fixture.Resolved.PathOf("ResNetPreprocess.onnx"), photos[0], 1)
            .Concat(Run(fixture.Resolved.PathOf("ResNetPreprocess.onnx"), photos[1], 1)).ToArray();
        var reference = Run(fixture.Resolved.PathOf("ResNet18.onnx"), preprocessed[..(3 * 224 * 224)], 1)
            .Concat(Run(fixture.Resolved.PathOf("ResNet18.onnx"), preprocessed[(3 * 224 * 224)..], 1)).ToArray();
        var ours = Run(fixture.Resolved.ModelPath, x, 2);

        Assert.Equal(2 * 512, ours.Length);
        // The package's preprocessing really changes the input (BGR, mean image), so agreement is not trivial.
        Assert.True(x.Zip(preprocessed).Max(p => Math.Abs(p.First - p.Second)) > 50);
        var scale = reference.Max(Math.Abs);
        Assert.True(scale > 0.1f);
        Assert.All(ours.Zip(reference), p => Assert.True(Math.Abs(p.First - p.Second) <= 1e-4f * scale, $"{p.First} vs {p.Second}"));
        // Two different photos give different features (the batch rows are not mixed up).
        Assert.True(ours.Take(512).Zip(ours.Skip(512)).Max(p => Math.Abs(p.First - p.Second)) > 0.1f * scale);
    }

    [Fact]
    public async Task Extraction_with_batch_16_gives_the_features_of_batch_1()
    {
        using var dir = new TempDir();
        var folder = Path.Combine(SharedAssets.Dataset("hymenoptera"), "val", "bees");
        var items = Directory.GetFiles(folder, "*.jpg").Order(StringComparer.Ordinal).Take(18)
            .Select(p => new DatasetItem(p, Path.GetFileName(p), "bees", "val")).ToArray();
        using var backbone = await FeatureBackbone.LoadAsync("resnet18", registry: fixture.Registry);
        // A fixed batch would make the extractor feed one image per call whatever BatchSize says.
        Assert.True(backbone.Session.InputMetadata.Values.Single().Dimensions[0] <= 0);

        await backbone.ExtractAsync(items, dir.File("b16.parquet"), new FeatureExtractionOptions { BatchSize = 16, Threads = 1 });
        await backbone.ExtractAsync(items, dir.File("b1.parquet"), new FeatureExtractionOptions { BatchSize = 1, Threads = 1 });

        var b16 = await FeatureStore.ReadAsync(dir.File("b16.parquet"));
        var b1 = await FeatureStore.ReadAsync(dir.File("b1.parquet"));
        Assert.Equal(18, b16.Count);
        Assert.Equal(512, b16.Dimension);
        Assert.Equal(b1.Paths, b16.Paths);
        var scale = b1.Features.Max(Math.Abs);
        Assert.All(b16.Features.Zip(b1.Features), p => Assert.True(Math.Abs(p.First - p.Second) <= 1e-4f * scale, $"{p.First} vs {p.Second}"));
    }
}
