using System.Globalization;
using Microsoft.ML.OnnxRuntime;
using OnnxTransfer.Data;
using OnnxTransfer.Features;
using OnnxTransfer.Onnx;
using DataType = OnnxTransfer.Onnx.Proto.TensorProto.Types.DataType;

namespace OnnxTransfer.Tests.Features;

/// <summary>A tiny backbone, an encoder reading numbers from text files, and datasets of such files.</summary>
internal static class FeatureTestKit
{
    public const int Channels = 3, Side = 4;

    /// <summary>x [N,3,4,4] -> GlobalAveragePool -> Flatten -> features [N,3] (N fixed when <paramref name="batch"/> is given).</summary>
    public static byte[] TinyBackbone(long? batch = null, long side = Side)
    {
        var model = OnnxModel.Create();
        var g = new GraphBuilder(model.Graph);
        var x = g.Input("x", DataType.Float, [batch, Channels, side, side], ["batch"]);
        var pooled = g.Node("GlobalAveragePool", [x]);
        var flat = g.Node("Flatten", [pooled]);
        g.Alias(flat, "features");
        g.Output("features", DataType.Float, [batch, Channels], ["batch"]);
        return model.ToBytes();
    }

    public static InferenceSession Session(long? batch = null, long side = Side)
    {
        using var options = new SessionOptions { IntraOpNumThreads = 1 };
        return new InferenceSession(TinyBackbone(batch, side), options);
    }

    public static FeatureStoreMetadata Description(string preprocessing = "numbers") =>
        new("tiny", new string('a', 64), "features", preprocessing, 0);

    /// <summary>Writes n text files holding a number (or "bad"), listed in a shuffled order.</summary>
    public static List<DatasetItem> Dataset(string root, int n, params int[] bad)
    {
        var items = new List<DatasetItem>();
        for (var i = 0; i < n; i++)
        {
            var label = $"c{i % 3}";
            var id = $"{label}/item{i:D4}.txt";
            var path = Path.Combine(root, id);
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            File.WriteAllText(path, bad.Contains(i) ? "bad" : (i * 0.25 - 3).ToString(CultureInfo.InvariantCulture));
            items.Add(new DatasetItem(path, id, label, i % 5 == 0 ? "val" : "train"));
        }
        var rng = new Random(7);
        return items.OrderBy(_ => rng.Next()).ToList();
    }

    /// <summary>The value sample element (c, k) gets for file value v.</summary>
    public static float Element(float v, int c, int k) => v * (c + 1) + 0.125f * k - c;

    /// <summary>The features the tiny backbone must give: per channel, the mean of its 16 elements (computed here, in double).</summary>
    public static float[] ExpectedFeatures(string file)
    {
        var v = float.Parse(File.ReadAllText(file), CultureInfo.InvariantCulture);
        var f = new float[Channels];
        for (var c = 0; c < Channels; c++)
        {
            double sum = 0;
            for (var k = 0; k < Side * Side; k++) sum += Element(v, c, k);
            f[c] = (float)(sum / (Side * Side));
        }
        return f;
    }

    public static byte[] Bytes(string file) => File.ReadAllBytes(file);
}

/// <summary>Reads the number in a text file into a [3,4,4] sample; "bad" files throw like a broken image.</summary>
internal sealed class NumberEncoder(Action<DatasetItem>? onEncode = null) : ISampleEncoder
{
    private int _encoded;

    public int Encoded => Volatile.Read(ref _encoded);

    public IReadOnlyList<long> SampleShape { get; } = [FeatureTestKit.Channels, FeatureTestKit.Side, FeatureTestKit.Side];

    public void Encode(DatasetItem item, Span<float> destination)
    {
        onEncode?.Invoke(item);
        Interlocked.Increment(ref _encoded);
        var text = File.ReadAllText(item.Path);
        if (!float.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var v))
            throw new OnnxTransferException($"{item.Path}: not a number; replace or remove the file.");
        const int n = FeatureTestKit.Side * FeatureTestKit.Side;
        for (var c = 0; c < FeatureTestKit.Channels; c++)
            for (var k = 0; k < n; k++)
                destination[c * n + k] = FeatureTestKit.Element(v, c, k);
    }
}
