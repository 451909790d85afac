using Microsoft.ML.OnnxRuntime;
using OnnxTransfer.Backbones;
using OnnxTransfer.Benchmarks;
using OnnxTransfer.Imaging;
using OnnxTransfer.Onnx;
using SkiaSharp;
using Xunit.Abstractions;

namespace OnnxTransfer.Tests.Imaging;

/// <summary>The default DCT-scaled JPEG decode against the exact path: full-size decode + Pillow-exact resize.</summary>
public class ScaledDecodeAccuracyTests(ITestOutputHelper output)
{
    private static readonly ImageDecoder Exact = new() { ScaledDecodeMargin = double.PositiveInfinity };

    [Fact]
    public async Task Twelve_megapixel_photos_decoded_at_one_eighth_stay_close_to_the_exact_path()
    {
        // Real photos upscaled to 12 MP with camera-like noise, as tools/bench-photos makes its set.
        using var dir = new TempDir();
        var photos = PhotoSet.Make(Path.GetDirectoryName(SharedAssets.Photo("cat.jpg"))!, dir.File("12mp"), new PhotoSetOptions { Count = 4 });
        using var backbone = await FeatureBackbone.LoadAsync(SharedAssets.MobileNetV2Int8);
        var p = backbone.Preprocessing!;
        var scaled = new ImageEncoder(p);
        var exact = new ImageEncoder(p, Exact);
        foreach (var photo in photos)
        {
            using (var image = scaled.Decoder.Decode(photo, p))
                Assert.Equal((image.OriginalWidth + 7) / 8, image.Width); // the 1/8 scale the default margin allows at 12 MP
            var a = exact.Encode(photo);
            var b = scaled.Encode(photo);
            var (mean, max) = Difference(a, b);
            var cosine = Cosine(Features(backbone, a), Features(backbone, b));
            // Normalised units (÷ ImageNet std: 1 grey level ≈ 0.017). Measured: mean 0.005-0.008, max 0.08-0.2 (edges);
            // wallpapers at 5120x2880: mean 0.005-0.013, max up to 0.57 on synthetic sharp edges. Int8 MobileNetV2
            // features are this sensitive anyway: ±0.6 grey levels of uniform noise alone gives cosine 0.974-0.986.
            output.WriteLine($"{Path.GetFileName(photo)}: mean {mean:F4} max {max:F3} feature cosine {cosine:F4}");
            Assert.True(mean < 0.015, $"{photo}: mean difference {mean}");
            Assert.True(max < 0.4, $"{photo}: max difference {max}");
            Assert.True(cosine > 0.96, $"{photo}: feature cosine {cosine}");
            Assert.True(a.Max() - a.Min() > 2, "the photo has contrast");
        }
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    [InlineData(5)]
    [InlineData(6)]
    [InlineData(7)]
    [InlineData(8)]
    public void Scaled_decode_keeps_the_geometry_when_the_last_block_is_partial(int orientation)
    {
        // 2003x1501 at 1/8 stores 251x188 pixels, the last column and row from partial blocks: the full image covers
        // 250.4 x 187.6 of them. Stripes of a 96-pixel period show any stretch (treating the stored pixels as the whole
        // image shifts the far edge by 5 pixels, a sixth of a period).
        using var dir = new TempDir();
        using var bitmap = ImagePreprocessorTests.Bitmap(2003, 1501, (x, y) => new SKColor(
            (byte)(128 + 100 * Math.Sin(x * 2 * Math.PI / 96)), (byte)(128 + 100 * Math.Sin(y * 2 * Math.PI / 96)), 128));
        File.WriteAllBytes(dir.File("o.jpg"), ImageFixtures.JpegWithOrientation(bitmap, orientation, quality: 95));
        var p = ImagePreprocessing.ImageNet with { ResizeShorter = 80, Width = 72, Height = 72, Scale = 1f, Mean = [0f, 0f, 0f], Std = [1f, 1f, 1f] };
        var scaled = new ImageEncoder(p);
        using (var image = scaled.Decoder.Decode(dir.File("o.jpg"), p))
            Assert.Equal(orientation >= 5 ? (188, 251) : (251, 188), (image.Width, image.Height));
        var (mean, max) = Difference(new ImageEncoder(p, Exact).Encode(dir.File("o.jpg")), scaled.Encode(dir.File("o.jpg")));
        output.WriteLine($"orientation {orientation}: mean {mean:F2} max {max:F2} grey levels");
        Assert.True(mean < 2.0, $"mean difference {mean} grey levels");
        Assert.True(max < 8, $"max difference {max} grey levels");
    }

    private static (double Mean, double Max) Difference(float[] a, float[] b)
    {
        double sum = 0, max = 0;
        for (var i = 0; i < a.Length; i++)
        {
            var d = Math.Abs(a[i] - b[i]);
            sum += d;
            max = Math.Max(max, d);
        }
        return (sum / a.Length, max);
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
