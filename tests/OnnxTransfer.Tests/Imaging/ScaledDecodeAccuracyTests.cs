using Microsoft.ML.OnnxRuntime;
using OnnxTransfer.Backbones;
using OnnxTransfer.Benchmarks;
using OnnxTransfer.Imaging;
using OnnxTransfer.Onnx;
using Xunit.Abstractions;

namespace OnnxTransfer.Tests.Imaging;

/// <summary>
/// The default scaled JPEG decode against the exact path (full decode + Pillow-exact resize) on real photos
/// upscaled to 12 MP with camera-like noise, as `tools/bench-photos` makes them.
/// </summary>
public class ScaledDecodeAccuracyTests(ITestOutputHelper output)
{
    [Fact]
    public async Task Twelve_megapixel_photos_stay_close_to_the_exact_path()
    {
        using var dir = new TempDir();
        var photos = PhotoSet.Make(Path.GetDirectoryName(SharedAssets.Photo("cat.jpg"))!, dir.File("12mp"), new PhotoSetOptions { Count = 4 });
        var extra = Environment.GetEnvironmentVariable("PHOTOS_EXTRA") is { } e ? Directory.GetFiles(e, "*.*", SearchOption.AllDirectories) : [];
        using var backbone = await FeatureBackbone.LoadAsync(SharedAssets.MobileNetV2Int8);
        var p = backbone.Preprocessing!;
        var exact = new ImageEncoder(p, new ImageDecoder { ScaledDecodeMargin = double.PositiveInfinity });
        foreach (var photo in photos.Concat(extra))
        {
            var a = exact.Encode(photo);
            var r = new Random(1);
            var n = a.Select(v => v + (float)(r.NextDouble() - 0.5) * 0.02f).ToArray();
            output.WriteLine($"control {Path.GetFileName(photo)}: self {Cosine(Features(backbone, a), Features(backbone, a)):F5} noise {Cosine(Features(backbone, a), Features(backbone, n)):F5}");
        }
        foreach (var margin in new[] { 2.0, 1.4, 1.25 })
        {
            var scaled = new ImageEncoder(p, new ImageDecoder { ScaledDecodeMargin = margin });
            foreach (var photo in photos.Concat(extra))
            {
                var a = exact.Encode(photo);
                var b = scaled.Encode(photo);
                double sum = 0, max = 0;
                for (var i = 0; i < a.Length; i++)
                {
                    var d = Math.Abs(a[i] - b[i]);
                    sum += d;
                    max = Math.Max(max, d);
                }
                var cos = Cosine(Features(backbone, a), Features(backbone, b));
                output.WriteLine($"margin {margin} {Path.GetFileName(photo)}: mean {sum / a.Length:F4} max {max:F3} cosine {cos:F5}");
            }
        }
    }

    private static float[] Features(FeatureBackbone backbone, float[] sample)
    {
        var session = backbone.Session;
        using var input = OrtValue.CreateTensorValueFromMemory(sample, [1, .. backbone.Encoder.SampleShape]);
        using var runOptions = new RunOptions();
        using var outputs = session.Run(runOptions, [session.InputNames[0]], [input], [BackboneCutter.FeaturesOutput]);
        return outputs[0].GetTensorDataAsSpan<float>().ToArray();
    }

    private static double Cosine(float[] a, float[] b)
    {
        double ab = 0, aa = 0, bb = 0;
        for (var i = 0; i < a.Length; i++) { ab += a[i] * b[i]; aa += a[i] * a[i]; bb += b[i] * b[i]; }
        return ab / Math.Sqrt(aa * bb);
    }
}
