using OnnxTransfer.Data;
using OnnxTransfer.Imaging;
using SkiaSharp;

namespace OnnxTransfer.Tests.Imaging;

public class ImageAugmentationTests
{
    private static readonly ImageDecoder Decoder = new();

    private static float[] Plain(SKBitmap bitmap, ImagePreprocessing p)
    {
        var pre = new ImagePreprocessor(p);
        var output = new float[pre.SampleLength];
        using var image = Decoder.FromBitmap(bitmap);
        pre.Process(image, output);
        return output;
    }

    private static float[] Augmented(SKBitmap bitmap, ImagePreprocessing p, CropAndFlip view)
    {
        var pre = new ImagePreprocessor(p);
        var output = new float[pre.SampleLength];
        using var image = Decoder.FromBitmap(bitmap);
        pre.Process(image, view, output);
        return output;
    }

    [Fact]
    public void Flipping_the_whole_image_reverses_the_columns_of_the_plain_encoding()
    {
        using var bitmap = ImagePreprocessorTests.Noise(50, 40, seed: 3);
        foreach (var p in new[]
        {
            ImagePreprocessing.ImageNet with { Resize = ResizeMode.Direct, Width = 32, Height = 24 },
            ImagePreprocessing.ImageNet with { Resize = ResizeMode.Direct, Width = 33, Height = 21, Layout = TensorLayout.Nhwc, Bgr = true },
        })
        {
            var plain = Plain(bitmap, p);
            // The whole image, unflipped, is the plain direct resize.
            Assert.Equal(plain, Augmented(bitmap, p, CropAndFlip.Whole(50, 40)));
            var flipped = Augmented(bitmap, p, CropAndFlip.Whole(50, 40, flip: true));
            for (var y = 0; y < p.Height; y++)
                for (var x = 0; x < p.Width; x++)
                    for (var c = 0; c < 3; c++)
                    {
                        int At(int col) => p.Layout == TensorLayout.Nchw ? (c * p.Height + y) * p.Width + col : (y * p.Width + col) * 3 + c;
                        Assert.Equal(plain[At(p.Width - 1 - x)], flipped[At(x)]);
                    }
        }
    }

    [Fact]
    public void A_crop_at_the_output_size_copies_the_box_pixel_for_pixel()
    {
        // Each pixel encodes its own position: R = x, G = y, B = x ^ y.
        using var bitmap = ImagePreprocessorTests.Bitmap(120, 90, (x, y) => new SKColor((byte)x, (byte)y, (byte)(x ^ y)));
        var p = new ImagePreprocessing(32, 24, ResizeMode.ShorterSideThenCenterCrop, 256, 1f, [0f, 0f, 0f], [1f, 1f, 1f], false, TensorLayout.Nchw);
        var box = new CropAndFlip(37, 51, 32, 24, Flip: false);
        var output = Augmented(bitmap, p, box);
        var mirrored = Augmented(bitmap, p, box with { Flip = true });
        for (var y = 0; y < 24; y++)
            for (var x = 0; x < 32; x++)
            {
                int sx = 37 + x, sy = 51 + y, mx = 37 + 31 - x;
                Assert.Equal(sx, output[y * 32 + x]);
                Assert.Equal(sy, output[24 * 32 + y * 32 + x]);
                Assert.Equal(sx ^ sy, output[2 * 24 * 32 + y * 32 + x]);
                Assert.Equal(mx, mirrored[y * 32 + x]);
                Assert.Equal(mx ^ sy, mirrored[2 * 24 * 32 + y * 32 + x]);
            }
    }

    [Fact]
    public void A_scaled_crop_is_the_box_cut_out_then_resized()
    {
        using var bitmap = ImagePreprocessorTests.Noise(97, 83, seed: 11);
        var p = ImagePreprocessing.ImageNet with { Width = 24, Height = 20 };
        foreach (var box in new[] { new CropAndFlip(13, 7, 61, 45, false), new CropAndFlip(80, 70, 17, 13, false), new CropAndFlip(0, 0, 97, 83, false) })
        {
            // Independent: cut the box into its own bitmap, then the reference direct resize of that bitmap.
            using var cut = ImagePreprocessorTests.Bitmap(box.Width, box.Height, (x, y) => bitmap.GetPixel(box.Left + x, box.Top + y));
            var reference = ImagePreprocessorTests.Reference(cut, p with { Resize = ResizeMode.Direct });
            var actual = Augmented(bitmap, p, box);
            var worst = 0.0;
            for (var c = 0; c < 3; c++)
                for (var y = 0; y < p.Height; y++)
                    for (var x = 0; x < p.Width; x++)
                        worst = Math.Max(worst, Math.Abs(actual[(c * p.Height + y) * p.Width + x] - (reference[c, y, x] * p.Scale - p.Mean[c]) / p.Std[c]));
            Assert.True(worst < 1e-3, $"{box}: worst difference {worst}");
        }
    }

    [Fact]
    public void A_box_outside_the_image_is_refused()
    {
        using var bitmap = ImagePreprocessorTests.Noise(20, 10, seed: 1);
        var p = ImagePreprocessing.ImageNet with { Width = 8, Height = 8 };
        Assert.Throws<ArgumentOutOfRangeException>(() => Augmented(bitmap, p, new CropAndFlip(15, 0, 6, 5, false)));
        Assert.Throws<ArgumentOutOfRangeException>(() => Augmented(bitmap, p, new CropAndFlip(0, 0, 0, 5, false)));
    }

    [Fact]
    public void Draws_stay_in_the_spec_are_deterministic_and_change_with_epoch_seed_and_item()
    {
        var a = ImageAugmentation.Light;
        const int w = 500, h = 375;
        var flips = 0;
        var draws = 0;
        var changedWithEpoch = 0;
        for (var i = 0; i < 200; i++)
        {
            var id = $"train/ants/{i}.jpg";
            var view = a.Draw(w, h, seed: 7, epoch: 1, id);
            Assert.Equal(view, a.Draw(w, h, seed: 7, epoch: 1, id));
            Assert.InRange(view.Left, 0, w - view.Width);
            Assert.InRange(view.Top, 0, h - view.Height);
            // Width and height are rounded: allow half a pixel on each side.
            var area = (double)view.Width * view.Height / (w * h);
            var slack = (view.Width + view.Height + 1) * 0.5 / (w * h);
            Assert.InRange(area, a.MinScale - slack, a.MaxScale + slack);
            var rounding = 1.5 / Math.Min(view.Width, view.Height);
            Assert.InRange((double)view.Width / view.Height, a.MinRatio * (1 - rounding), a.MaxRatio * (1 + rounding));
            if (view.Flip) flips++;
            draws++;
            if (a.Draw(w, h, 7, 2, id) != view) changedWithEpoch++;
        }
        Assert.InRange(flips, 70, 130); // p = 0.5 over 200 draws: 100 ± 4 sd
        Assert.True(changedWithEpoch >= 198, $"only {changedWithEpoch} of {draws} views changed between epochs 1 and 2");
        Assert.NotEqual(a.Draw(w, h, 7, 1, "x.jpg"), a.Draw(w, h, 8, 1, "x.jpg"));
        Assert.NotEqual(a.Draw(w, h, 7, 1, "x.jpg"), a.Draw(w, h, 7, 1, "y.jpg"));
    }

    [Fact]
    public void An_image_no_box_fits_gets_the_center_crop_with_the_ratio_clamped()
    {
        // 1000x10: any box of >= 35% of the area is far wider than 4/3 of its height.
        var view = ImageAugmentation.Light.Draw(1000, 10, 1, 1, "strip.png");
        Assert.Equal((493, 0, 13, 10), (view.Left, view.Top, view.Width, view.Height)); // width round(10 * 4/3) = 13, centered
        var tall = ImageAugmentation.Light.Draw(10, 1000, 1, 1, "tall.png");
        Assert.Equal((0, 493, 10, 13), (tall.Left, tall.Top, tall.Width, tall.Height)); // height round(10 / (3/4)) = 13
    }

    [Theory]
    [InlineData("", "scale=0.35:1,ratio=0.75:1.3333333333333333,flip=0.5")]
    [InlineData("light", "scale=0.35:1,ratio=0.75:1.3333333333333333,flip=0.5")]
    [InlineData("scale=0.08:1, ratio=3/4:4/3", "scale=0.08:1,ratio=0.75:1.3333333333333333,flip=0.5")]
    [InlineData("flip=0", "scale=0.35:1,ratio=0.75:1.3333333333333333,flip=0")]
    public void Text_form_parses_and_round_trips(string text, string expected)
    {
        var parsed = ImageAugmentation.Parse(text);
        Assert.Equal(expected, parsed.ToString());
        Assert.Equal(parsed, ImageAugmentation.Parse(parsed.ToString()));
    }

    [Theory]
    [InlineData("scale=0.5")]
    [InlineData("scale=0:1")]
    [InlineData("scale=0.9:0.5")]
    [InlineData("ratio=2:1")]
    [InlineData("flip=1.5")]
    [InlineData("zoom=2")]
    [InlineData("heavy")]
    public void Bad_text_is_refused_with_the_expected_form(string text)
    {
        var e = Assert.Throws<OnnxTransferException>(() => ImageAugmentation.Parse(text));
        Assert.Contains("augmentation", e.Message);
        Assert.DoesNotContain('\n', e.Message);
    }

    [Fact]
    public void Epoch_zero_is_the_plain_encoding_and_later_epochs_the_drawn_view()
    {
        var item = DatasetLoader.Load(SharedAssets.Dataset("hymenoptera")).InSplit("train").TakePerClass(1, seed: 2).Items[0];
        var encoder = new AugmentedImageEncoder(ImagePreprocessing.ImageNet, ImageAugmentation.Light, seed: 3);
        var plain = new ImageEncoder(ImagePreprocessing.ImageNet).Encode(item.Path);
        var epoch0 = new float[plain.Length];
        Assert.Null(encoder.Encode(item, 0, epoch0));
        Assert.Equal(plain, epoch0);

        var epoch1 = new float[plain.Length];
        var view = encoder.Encode(item, 1, epoch1)!.Value;
        using (var image = new ImageDecoder().Decode(item.Path))
            Assert.Equal(ImageAugmentation.Light.Draw(image.OriginalWidth, image.OriginalHeight, 3, 1, item.Id), view);
        var again = new float[plain.Length];
        encoder.Encode(item.Path, view, again);
        Assert.Equal(epoch1, again);
        Assert.NotEqual(plain, epoch1);
    }

    [Fact]
    public void A_crop_of_a_scaled_jpeg_decode_stays_close_to_the_crop_of_the_full_decode()
    {
        using var dir = new TempDir();
        // 2000x1800: the augmentation's decode target (shorter side 224 / sqrt(0.35 * 3/4) = 438, margin 2) still
        // allows the 1/2 DCT scale (900 >= 876), so the box is applied to the half-size pixels as a fractional box.
        using var bitmap = ImagePreprocessorTests.Bitmap(2000, 1800, (x, y) => new SKColor((byte)(x / 9), (byte)(y / 8), (byte)((x + y) % 256 < 128 ? 40 : 220)));
        var path = dir.File("big.jpg");
        File.WriteAllBytes(path, bitmap.Encode(SKEncodedImageFormat.Jpeg, 92).ToArray());
        using (var decoded = new ImageDecoder().Decode(path, ImagePreprocessing.ImageNet with { ResizeShorter = (int)Math.Ceiling(224 / ImageAugmentation.Light.SmallestSideFraction) }))
            Assert.Equal((1000, 900), (decoded.Width, decoded.Height));
        var p = ImagePreprocessing.ImageNet with { Scale = 1f, Mean = [0f, 0f, 0f], Std = [1f, 1f, 1f] };
        var scaled = new AugmentedImageEncoder(p, ImageAugmentation.Light, 1);
        var full = new AugmentedImageEncoder(p, ImageAugmentation.Light, 1, new ImageDecoder { ScaledDecodeMargin = double.PositiveInfinity });
        foreach (var view in new[] { new CropAndFlip(301, 199, 901, 703, true), new CropAndFlip(1171, 1001, 829, 799, false) })
        {
            var a = new float[3 * 224 * 224];
            var b = new float[a.Length];
            scaled.Encode(path, view, a);
            full.Encode(path, view, b);
            double sum = 0;
            for (var i = 0; i < a.Length; i++) sum += Math.Abs(a[i] - b[i]);
            Assert.True(sum / a.Length < 1.0, $"{view}: mean difference {sum / a.Length} grey levels");
            Assert.True(b.Max() - b.Min() > 100);
        }
    }
}
