using Microsoft.ML.OnnxRuntime;
using OnnxTransfer.Data;
using OnnxTransfer.Features;
using OnnxTransfer.Imaging;
using OnnxTransfer.Onnx;
using DataType = OnnxTransfer.Onnx.Proto.TensorProto.Types.DataType;

using OnnxTransfer.Runtime;

namespace OnnxTransfer.Curves;

/// <summary>
/// The no-transfer baseline's input: an image squeezed (aspect ratio not kept) to <see cref="Size"/>×<see cref="Size"/> RGB
/// with the same antialiased bilinear resize as the backbones, each value pixel/255 in [0, 1], channel-major
/// (R plane, G plane, B plane). A linear head on these is what "no transfer" can do with the same training data.
/// Thread-safe.
/// </summary>
public sealed class RawPixelEncoder : ISampleEncoder
{
    private readonly ImageEncoder _encoder;

    /// <summary>An encoder to <paramref name="size"/>×<paramref name="size"/> pixels.</summary>
    public RawPixelEncoder(int size)
    {
        if (size < 1) throw new OnnxTransferException($"raw pixels: size {size} must be at least 1.");
        Size = size;
        _encoder = new ImageEncoder(Preprocessing(size));
    }

    /// <summary>Side of the square image.</summary>
    public int Size { get; }

    /// <summary>Features per image (3·size²).</summary>
    public int Dimension => 3 * Size * Size;

    /// <inheritdoc />
    public IReadOnlyList<long> SampleShape => _encoder.SampleShape;

    /// <summary>The preprocessing: direct resize to size×size, scale 1/255, no mean or std, RGB, NCHW.</summary>
    public static ImagePreprocessing Preprocessing(int size) =>
        new(size, size, ResizeMode.Direct, size, 1f / 255f, [0f, 0f, 0f], [1f, 1f, 1f], false, TensorLayout.Nchw);

    /// <inheritdoc />
    public void Encode(DatasetItem item, Span<float> destination) => _encoder.Encode(item.Path, destination);

    /// <summary>Encodes an image file into a new array.</summary>
    public float[] Encode(string path) => _encoder.Encode(path);

    /// <summary>
    /// Encodes <paramref name="items"/> into a Parquet feature store at <paramref name="storePath"/> (resumable, reused by
    /// a re-run; unreadable images are logged and skipped) and returns the store's rows.
    /// </summary>
    public async Task<FeatureTable> StoreAsync(IReadOnlyList<DatasetItem> items, string storePath, int batchSize = 32, IProgress<ProgressUpdate>? progress = null, CancellationToken ct = default)
    {
        // The store runs an ONNX model per batch; here it only flattens [N,3,S,S] to [N,3·S·S].
        var model = OnnxModel.Create("raw_pixels");
        var g = new GraphBuilder(model.Graph);
        var x = g.Input("pixels", DataType.Float, [null, 3, Size, Size], ["N"]);
        g.Alias(g.Node("Flatten", [x], OnnxAttribute.Int("axis", 1)), "features");
        g.Output("features", DataType.Float, [null, Dimension], ["N"]);
        using var sessions = SessionFactory.ForTraining(ExecutionDevice.Cpu, 1);
        using var session = sessions.CreateSession(model.ToBytes());
        var description = new FeatureStoreMetadata("raw-pixels", "", $"pixels{Size}x{Size}", Preprocessing(Size).ToString(), Dimension);
        var summary = await new FeatureExtractor(session, this, description)
            .RunAsync(items, storePath, new FeatureExtractionOptions { BatchSize = batchSize }, progress, ct).ConfigureAwait(false);
        return await FeatureStore.ReadAsync(summary.Output, ct).ConfigureAwait(false);
    }
}
