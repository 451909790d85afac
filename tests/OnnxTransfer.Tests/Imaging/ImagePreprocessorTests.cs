using OnnxTransfer.Imaging;
using SkiaSharp;

namespace OnnxTransfer.Tests.Imaging;

public class ImagePreprocessorTests
{
    private static readonly ImageDecoder Decoder = new();

    internal static SKBitmap Bitmap(int width, int height, Func<int, int, SKColor> pixel)
    {
        var bitmap = new SKBitmap(new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Opaque));
        var span = bitmap.GetPixelSpan();
        for (var y = 0; y < height; y++)
            for (var x = 0; x < width; x++)
            {
                var c = pixel(x, y);
                var i = (y * width + x) * 4;
                (span[i], span[i + 1], span[i + 2], span[i + 3]) = (c.Red, c.Green, c.Blue, 255);
            }
        return bitmap;
    }

    private static float[] Run(SKBitmap bitmap, ImagePreprocessing p)
    {
        var pre = new ImagePreprocessor(p);
        var output = new float[pre.SampleLength];
        using var image = Decoder.FromBitmap(bitmap);
        pre.Process(image, output);
        return output;
    }

    /// <summary>
    /// Independent reference: torchvision Resize (sizes) + Pillow BILINEAR written as a direct 2-D sum over the
    /// whole image of a triangle kernel stretched by max(in/out, 1), normalized per axis; CenterCrop with
    /// Python's round and zero padding; then Normalize. Returns [channel (R,G,B), y, x].
    /// </summary>
    internal static double[,,] Reference(SKBitmap bitmap, ImagePreprocessing p)
    {
        int w = bitmap.Width, h = bitmap.Height;
        int rw, rh;
        if (p.Resize == ResizeMode.Direct) (rw, rh) = (p.Width, p.Height);
        else if (w <= h) (rw, rh) = (p.ResizeShorter, (int)Math.Floor((double)p.ResizeShorter * h / w));
        else (rw, rh) = ((int)Math.Floor((double)p.ResizeShorter * w / h), p.ResizeShorter);
        int left = 0, top = 0;
        if (p.Resize != ResizeMode.Direct)
        {
            left = p.Width > rw ? -((p.Width - rw) / 2) : (int)Math.Round((rw - p.Width) / 2.0);
            top = p.Height > rh ? -((p.Height - rh) / 2) : (int)Math.Round((rh - p.Height) / 2.0);
        }
        static double[] Kernel(int inSize, int outSize, int o)
        {
            var scale = (double)inSize / outSize;
            var s = Math.Max(scale, 1.0);
            var center = (o + 0.5) * scale;
            var k = new double[inSize];
            for (var i = 0; i < inSize; i++)
                k[i] = Math.Max(0, 1 - Math.Abs((i + 0.5 - center) / s));
            var sum = k.Sum();
            return k.Select(v => v / sum).ToArray();
        }
        var result = new double[3, p.Height, p.Width];
        for (var oy = 0; oy < p.Height; oy++)
            for (var ox = 0; ox < p.Width; ox++)
            {
                int ry = oy + top, rx = ox + left;
                var rgb = new double[3];
                if (rx >= 0 && rx < rw && ry >= 0 && ry < rh)
                {
                    var kx = Kernel(w, rw, rx);
                    var ky = Kernel(h, rh, ry);
                    for (var y = 0; y < h; y++)
                    {
                        if (ky[y] == 0) continue;
                        for (var x = 0; x < w; x++)
                        {
                            if (kx[x] == 0) continue;
                            var c = bitmap.GetPixel(x, y);
                            var k = kx[x] * ky[y];
                            rgb[0] += k * c.Red; rgb[1] += k * c.Green; rgb[2] += k * c.Blue;
                        }
                    }
                }
                for (var c = 0; c < 3; c++)
                    result[c, oy, ox] = rgb[c];
            }
        return result;
    }

    private static void AssertMatchesReference(SKBitmap bitmap, ImagePreprocessing p, double tolerance = 1e-3)
    {
        var actual = Run(bitmap, p);
        var reference = Reference(bitmap, p);
        var worst = 0.0;
        for (var oc = 0; oc < 3; oc++)
            for (var y = 0; y < p.Height; y++)
                for (var x = 0; x < p.Width; x++)
                {
                    var pixel = reference[p.Bgr ? 2 - oc : oc, y, x];
                    var expected = (pixel * p.Scale - p.Mean[oc]) / p.Std[oc];
                    var index = p.Layout == TensorLayout.Nchw ? (oc * p.Height + y) * p.Width + x : (y * p.Width + x) * 3 + oc;
                    worst = Math.Max(worst, Math.Abs(actual[index] - expected));
                }
        Assert.True(worst < tolerance, $"{p}: worst difference {worst}");
    }

    internal static SKBitmap Noise(int width, int height, int seed)
    {
        var random = new Random(seed);
        return Bitmap(width, height, (_, _) => new SKColor((byte)random.Next(256), (byte)random.Next(256), (byte)random.Next(256)));
    }

    [Fact]
    public void Solid_colour_gives_exact_normalized_values_in_every_layout()
    {
        using var bitmap = Bitmap(300, 200, (_, _) => new SKColor(10, 128, 250));
        byte[] rgb = [10, 128, 250];
        foreach (var p in new[]
                 {
                     ImagePreprocessing.ImageNet,
                     ImagePreprocessing.ImageNet with { Layout = TensorLayout.Nhwc },
                     ImagePreprocessing.ImageNet with { Bgr = true, Mean = [0.4f, 0.5f, 0.6f] },
                     ImagePreprocessing.ImageNet with { Resize = ResizeMode.Direct, Width = 96, Height = 64 },
                 })
        {
            var output = Run(bitmap, p);
            Assert.Equal(3 * p.Width * p.Height, output.Length);
            for (var i = 0; i < output.Length; i++)
            {
                var oc = p.Layout == TensorLayout.Nchw ? i / (p.Width * p.Height) : i % 3;
                var value = rgb[p.Bgr ? 2 - oc : oc];
                var expected = (value / 255.0 - p.Mean[oc]) / p.Std[oc];
                if (Math.Abs(output[i] - expected) >= 1e-5)
                    Assert.Fail($"{p}: [{i}] = {output[i]}, expected {expected}");
            }
        }
    }

    [Fact]
    public void Shorter_side_resize_and_center_crop_match_the_reference()
    {
        // 97x61 -> 63x40 (floor(40*97/61)); crop 32x24 starts at round(15.5) = 16 (half to even), round(8) = 8.
        using var bitmap = Noise(97, 61, seed: 1);
        AssertMatchesReference(bitmap, ImagePreprocessing.ImageNet with { ResizeShorter = 40, Width = 32, Height = 24 });
        // Portrait, NHWC, BGR, other mean/std.
        using var portrait = Noise(45, 83, seed: 2);
        AssertMatchesReference(portrait, new ImagePreprocessing(20, 30, ResizeMode.ShorterSideThenCenterCrop, 22, 1f / 127.5f,
            [1f, 1f, 1f], [1f, 1f, 1f], true, TensorLayout.Nhwc));
    }

    [Fact]
    public void Upscaling_direct_resize_and_crop_padding_match_the_reference()
    {
        using var small = Noise(20, 15, seed: 3);
        AssertMatchesReference(small, ImagePreprocessing.ImageNet with { ResizeShorter = 64, Width = 48, Height = 48 });
        using var odd = Noise(50, 30, seed: 4);
        AssertMatchesReference(odd, ImagePreprocessing.ImageNet with { Resize = ResizeMode.Direct, Width = 24, Height = 40, Layout = TensorLayout.Nhwc });
        // Crop larger than the resized image: torchvision pads with zeros (here 2 rows top, 2 bottom).
        using var wide = Noise(30, 20, seed: 5);
        AssertMatchesReference(wide, ImagePreprocessing.ImageNet with { ResizeShorter = 20, Width = 24, Height = 24 });
    }

    [Theory]
    [InlineData("resize=256,crop=224x224,scale=0.003921569,mean=0.485/0.456/0.406,std=0.229/0.224/0.225,order=rgb,layout=nchw")]
    [InlineData("resize=direct,crop=96x64,scale=1/127.5,mean=1/1/1,std=1/1/1,order=bgr,layout=nhwc")]
    public void Text_form_round_trips(string text)
    {
        var p = ImagePreprocessing.Parse(text);
        Assert.Equal(p, ImagePreprocessing.Parse(p.ToString()));
        Assert.Equal(p.ToString(), ImagePreprocessing.Parse(p.ToString()).ToString());
    }

    [Theory]
    [InlineData(500, 375, 341, 256)]
    [InlineData(375, 500, 256, 341)]
    [InlineData(256, 256, 256, 256)]
    [InlineData(1030, 1030, 256, 256)]
    [InlineData(474, 315, 385, 256)]
    public void Resized_size_follows_torchvision(int w, int h, int rw, int rh) =>
        Assert.Equal((rw, rh), ImagePreprocessing.ImageNet.ResizedSize(w, h));

    [Theory]
    [InlineData(341, 224, 58)]  // 58.5 rounds to even
    [InlineData(343, 224, 60)]  // 59.5 rounds to even
    [InlineData(256, 224, 16)]
    [InlineData(20, 24, -2)]    // padded
    [InlineData(21, 24, -1)]    // padded by floor(3/2) on the left
    public void Crop_offset_follows_torchvision(int size, int crop, int offset) =>
        Assert.Equal(offset, ImagePreprocessor.CropOffset(size, crop));

    [Fact]
    public void Scaled_jpeg_decode_stays_close_to_the_full_decode()
    {
        using var dir = new TempDir();
        using var bitmap = Bitmap(1600, 1200, (x, y) => new SKColor((byte)(x / 7), (byte)(y / 5), (byte)((x + y) % 256 < 128 ? 40 : 220)));
        File.WriteAllBytes(dir.File("big.jpg"), bitmap.Encode(SKEncodedImageFormat.Jpeg, 92).ToArray());
        var p = ImagePreprocessing.ImageNet with { Scale = 1f, Mean = [0f, 0f, 0f], Std = [1f, 1f, 1f] };
        var scaled = new ImageEncoder(p).Encode(dir.File("big.jpg"));
        var full = new ImageEncoder(p, new ImageDecoder { ScaledDecodeMargin = double.PositiveInfinity }).Encode(dir.File("big.jpg"));
        double sum = 0;
        for (var i = 0; i < full.Length; i++) sum += Math.Abs(scaled[i] - full[i]);
        Assert.True(sum / full.Length < 1.0, $"mean difference {sum / full.Length} grey levels");
        Assert.True(full.Max() - full.Min() > 100);
    }
}
