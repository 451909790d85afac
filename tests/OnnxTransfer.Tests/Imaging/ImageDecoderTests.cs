using System.Buffers.Binary;
using System.Diagnostics;
using OnnxTransfer.Imaging;
using SkiaSharp;

namespace OnnxTransfer.Tests.Imaging;

public class ImageDecoderTests
{
    private static readonly ImageDecoder Decoder = new();

    private static DecodedImage DecodeBytes(TempDir dir, string name, byte[] bytes)
    {
        File.WriteAllBytes(dir.File(name), bytes);
        return Decoder.Decode(dir.File(name));
    }

    private static void AssertPixel(DecodedImage image, int x, int y, int r, int g, int b, int tolerance = 0)
    {
        var p = image.GetPixel(x, y);
        Assert.True(Math.Abs(p.Red - r) <= tolerance && Math.Abs(p.Green - g) <= tolerance && Math.Abs(p.Blue - b) <= tolerance,
            $"pixel ({x},{y}) is ({p.Red},{p.Green},{p.Blue}), expected ({r},{g},{b}) ±{tolerance}");
    }

    [Fact]
    public void Png_16_bit_is_reduced_to_8_bit()
    {
        using var dir = new TempDir();
        // 2x1 RGB, 16 bits per channel, big-endian samples.
        var rows = new byte[12];
        ushort[] samples = [0x1234, 0xFF00, 0x0080, 0xFFFF, 0x0000, 0x8000];
        for (var i = 0; i < samples.Length; i++)
            BinaryPrimitives.WriteUInt16BigEndian(rows.AsSpan(i * 2), samples[i]);
        using var image = DecodeBytes(dir, "deep.png", ImageFixtures.Png(2, 1, colorType: 2, bitDepth: 16, rows));
        Assert.Equal((2, 1), (image.Width, image.Height));
        // Any sane 16->8 reduction lands within one level of sample * 255 / 65535.
        AssertPixel(image, 0, 0, 0x1234 * 255 / 65535, 0xFF00 * 255 / 65535, 0x0080 * 255 / 65535, tolerance: 1);
        AssertPixel(image, 1, 0, 255, 0, 0x8000 * 255 / 65535, tolerance: 1);
    }

    [Fact]
    public void Grey_png_is_replicated_to_rgb()
    {
        using var dir = new TempDir();
        using var image = DecodeBytes(dir, "grey.png", ImageFixtures.Png(3, 1, colorType: 0, bitDepth: 8, [0, 77, 255]));
        AssertPixel(image, 0, 0, 0, 0, 0);
        AssertPixel(image, 1, 0, 77, 77, 77);
        AssertPixel(image, 2, 0, 255, 255, 255);
    }

    [Fact]
    public void Palette_png_maps_indices_and_transparent_entries_become_white()
    {
        using var dir = new TempDir();
        byte[] palette = [10, 20, 30, 200, 100, 50, 0, 0, 0];
        byte[] alpha = [255, 255, 0]; // index 2 fully transparent
        using var image = DecodeBytes(dir, "palette.png", ImageFixtures.Png(3, 1, colorType: 3, bitDepth: 8, [1, 0, 2], palette, alpha));
        AssertPixel(image, 0, 0, 200, 100, 50);
        AssertPixel(image, 1, 0, 10, 20, 30);
        AssertPixel(image, 2, 0, 255, 255, 255);
    }

    [Fact]
    public void Alpha_is_composited_on_white()
    {
        using var dir = new TempDir();
        // RGBA: half-transparent orange, opaque dark blue, fully transparent black.
        byte[] rows = [200, 100, 50, 128, 0, 0, 80, 255, 0, 0, 0, 0];
        using var image = DecodeBytes(dir, "alpha.png", ImageFixtures.Png(3, 1, colorType: 6, bitDepth: 8, rows));
        static int Over(int c, int a) => (int)Math.Round(c * a / 255.0 + 255 * (1 - a / 255.0));
        AssertPixel(image, 0, 0, Over(200, 128), Over(100, 128), Over(50, 128), tolerance: 1);
        AssertPixel(image, 1, 0, 0, 0, 80);
        AssertPixel(image, 2, 0, 255, 255, 255);
    }

    [Fact]
    public void Bmp_decodes_exactly()
    {
        using var dir = new TempDir();
        static (byte, byte, byte) Pixel(int x, int y) => ((byte)(x * 40), (byte)(y * 60), (byte)(x + y));
        using var image = DecodeBytes(dir, "pic.bmp", ImageFixtures.Bmp(5, 3, Pixel));
        Assert.Equal((5, 3), (image.Width, image.Height));
        for (var y = 0; y < 3; y++)
            for (var x = 0; x < 5; x++)
            {
                var (r, g, b) = Pixel(x, y);
                AssertPixel(image, x, y, r, g, b);
            }
    }

    [Fact]
    public void Gif_gives_its_first_frame()
    {
        using var dir = new TempDir();
        byte[] palette = [255, 0, 0, 0, 255, 0, 0, 0, 255, 255, 255, 255];
        byte[] first = [0, 1, 2, 3, 0, 1];
        byte[] second = [3, 3, 3, 3, 3, 3];
        using var image = DecodeBytes(dir, "anim.gif", ImageFixtures.Gif(3, 2, palette, first, second));
        Assert.Equal((3, 2), (image.Width, image.Height));
        for (var i = 0; i < first.Length; i++)
        {
            var c = first[i] * 3;
            AssertPixel(image, i % 3, i / 3, palette[c], palette[c + 1], palette[c + 2]);
        }
    }

    [Fact]
    public void Lossless_webp_decodes_exactly()
    {
        using var dir = new TempDir();
        using var bitmap = new SKBitmap(new SKImageInfo(7, 4, SKColorType.Rgba8888, SKAlphaType.Opaque));
        for (var y = 0; y < 4; y++)
            for (var x = 0; x < 7; x++)
                bitmap.SetPixel(x, y, new SKColor((byte)(x * 30), (byte)(y * 50), (byte)(200 - x * y)));
        using var pixmap = bitmap.PeekPixels();
        using var webp = pixmap.Encode(new SKWebpEncoderOptions(SKWebpEncoderCompression.Lossless, 100))!;
        using var image = DecodeBytes(dir, "pic.webp", webp.ToArray());
        for (var y = 0; y < 4; y++)
            for (var x = 0; x < 7; x++)
                AssertPixel(image, x, y, x * 30, y * 50, 200 - x * y);
    }

    // Display quadrants (top-left, top-right, bottom-left, bottom-right) for a stored image with
    // TL red, TR green, BL blue, BR yellow, per the EXIF orientation tag's definition.
    [Theory]
    [InlineData(1, "RGBY")]
    [InlineData(2, "GRYB")]
    [InlineData(3, "YBGR")]
    [InlineData(4, "BYRG")]
    [InlineData(5, "RBGY")]
    [InlineData(6, "BRYG")]
    [InlineData(7, "YGBR")]
    [InlineData(8, "GYRB")]
    public void Exif_orientation_is_applied(int orientation, string quadrants)
    {
        using var dir = new TempDir();
        using var source = ImageFixtures.Quadrants(64, 32);
        using var image = DecodeBytes(dir, $"o{orientation}.jpg", ImageFixtures.JpegWithOrientation(source, orientation));
        var transposed = orientation >= 5;
        Assert.Equal(transposed ? (32, 64) : (64, 32), (image.Width, image.Height));
        var colours = new Dictionary<char, (int, int, int)> { ['R'] = (255, 0, 0), ['G'] = (0, 255, 0), ['B'] = (0, 0, 255), ['Y'] = (255, 255, 0) };
        (int X, int Y)[] probes = [(image.Width / 4, image.Height / 4), (image.Width * 3 / 4, image.Height / 4), (image.Width / 4, image.Height * 3 / 4), (image.Width * 3 / 4, image.Height * 3 / 4)];
        for (var q = 0; q < 4; q++)
        {
            var (r, g, b) = colours[quadrants[q]];
            AssertPixel(image, probes[q].X, probes[q].Y, r, g, b, tolerance: 40);
        }
    }

    [Fact]
    public void Orientation_6_matches_a_canvas_rotation_of_an_asymmetric_image()
    {
        using var dir = new TempDir();
        using var source = new SKBitmap(new SKImageInfo(48, 32, SKColorType.Rgba8888, SKAlphaType.Opaque));
        for (var y = 0; y < 32; y++)
            for (var x = 0; x < 48; x++)
                source.SetPixel(x, y, new SKColor((byte)(x * 5), (byte)(y * 7), (byte)(x < 8 && y < 8 ? 255 : 0)));
        // The expected image: the source turned 90 degrees clockwise by Skia's canvas.
        using var rotated = new SKBitmap(new SKImageInfo(32, 48, SKColorType.Rgba8888, SKAlphaType.Opaque));
        using (var canvas = new SKCanvas(rotated))
        {
            canvas.Translate(32, 0);
            canvas.RotateDegrees(90);
            canvas.DrawBitmap(source, 0, 0, new SKSamplingOptions(SKFilterMode.Nearest), null);
        }
        using var image = DecodeBytes(dir, "rot6.jpg", ImageFixtures.JpegWithOrientation(source, 6, quality: 100));
        Assert.Equal(SKEncodedOrigin.RightTop, image.Origin);
        double error = 0;
        for (var y = 0; y < 48; y++)
            for (var x = 0; x < 32; x++)
            {
                var a = image.GetPixel(x, y);
                var e = rotated.GetPixel(x, y);
                error += Math.Abs(a.Red - e.Red) + Math.Abs(a.Green - e.Green) + Math.Abs(a.Blue - e.Blue);
            }
        Assert.True(error / (32 * 48 * 3) < 6, $"mean error {error / (32 * 48 * 3):F2}");
        // The blue 8x8 marker (stored top-left) shows at the display's top-right.
        Assert.True(image.GetPixel(28, 3).Blue > 200 && image.GetPixel(3, 3).Blue < 60);
    }

    public static TheoryData<string, byte[], string> BadFiles() => new()
    {
        { "empty.jpg", [], "empty" },
        { "notes.jpg", "this is a text file renamed to .jpg\n"u8.ToArray(), "not a recognised image" },
        { "garbage.png", [0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A, 1, 2, 3], "image" },
    };

    [Theory]
    [MemberData(nameof(BadFiles))]
    public void Bad_files_fail_with_one_line_naming_the_file(string name, byte[] content, string reason)
    {
        using var dir = new TempDir();
        File.WriteAllBytes(dir.File(name), content);
        var e = Assert.Throws<ImageDecodeException>(() => Decoder.Decode(dir.File(name)));
        Assert.Contains(name, e.Message);
        Assert.Contains(reason, e.Message);
        Assert.DoesNotContain('\n', e.Message);
        Assert.IsAssignableFrom<OnnxTransferException>(e);
    }

    [Fact]
    public void Truncated_jpeg_is_refused()
    {
        using var dir = new TempDir();
        var bytes = File.ReadAllBytes(SharedAssets.Photo("dog.jpg"));
        File.WriteAllBytes(dir.File("cut.jpg"), bytes[..(bytes.Length / 2)]);
        var e = Assert.Throws<ImageDecodeException>(() => Decoder.Decode(dir.File("cut.jpg")));
        Assert.Contains("cut.jpg", e.Message);
        Assert.Contains("truncated", e.Message);
        Assert.DoesNotContain('\n', e.Message);
    }

    [Fact]
    public void Missing_file_is_named()
    {
        var e = Assert.Throws<ImageDecodeException>(() => Decoder.Decode("/nonexistent/folder/x.jpg"));
        Assert.Contains("/nonexistent/folder/x.jpg: file not found", e.Message);
    }

    [Fact]
    public void Huge_png_header_is_refused_before_allocating()
    {
        using var dir = new TempDir();
        File.WriteAllBytes(dir.File("huge.png"), ImageFixtures.PngHeaderOnly(30000, 30000));
        using var process = Process.GetCurrentProcess();
        var managedBefore = GC.GetTotalAllocatedBytes(precise: true);
        var e = Assert.Throws<ImageDecodeException>(() => Decoder.Decode(dir.File("huge.png"), ImagePreprocessing.ImageNet));
        var managed = GC.GetTotalAllocatedBytes(precise: true) - managedBefore;
        process.Refresh();
        Assert.Contains("30000x30000", e.Message);
        Assert.Contains("limit", e.Message);
        Assert.True(managed < 16 << 20, $"allocated {managed} managed bytes");
        // The image would need 3.6 GB; the process's peak stays far below (it never even starts decoding).
        Assert.True(process.PeakWorkingSet64 < 2L << 30, $"peak working set {process.PeakWorkingSet64 >> 20} MB");
    }

    [Fact]
    public void Pixel_limit_is_configurable()
    {
        using var dir = new TempDir();
        File.WriteAllBytes(dir.File("grey.png"), ImageFixtures.Png(100, 60, 0, 8, new byte[6000]));
        var strict = new ImageDecoder { MaxPixels = 5000 };
        var e = Assert.Throws<ImageDecodeException>(() => strict.Decode(dir.File("grey.png")));
        Assert.Contains("100x60", e.Message);
        using var ok = new ImageDecoder { MaxPixels = 6000 }.Decode(dir.File("grey.png"));
        Assert.Equal(100, ok.Width);
    }

    [Fact]
    public void Large_jpeg_is_decoded_at_a_reduced_scale_for_its_target()
    {
        using var dir = new TempDir();
        using var bitmap = ImageFixtures.Quadrants(1600, 1200);
        File.WriteAllBytes(dir.File("big.jpg"), bitmap.Encode(SKEncodedImageFormat.Jpeg, 90).ToArray());
        // ImageNet resizes 1600x1200 to 341x256: 1/2 scale (800x600) keeps twice that, 1/4 (400x300) would not.
        using var scaled = Decoder.Decode(dir.File("big.jpg"), ImagePreprocessing.ImageNet);
        Assert.Equal((800, 600), (scaled.Width, scaled.Height));
        Assert.Equal((1600, 1200), (scaled.OriginalWidth, scaled.OriginalHeight));
        using var full = Decoder.Decode(dir.File("big.jpg"));
        Assert.Equal((1600, 1200), (full.Width, full.Height));
        AssertPixel(scaled, 200, 150, 255, 0, 0, tolerance: 8);
        AssertPixel(scaled, 600, 450, 255, 255, 0, tolerance: 8);
        // Without a margin the codec may go down to 1/4 (400x300 still covers 341x256).
        using var eager = new ImageDecoder { ScaledDecodeMargin = 1 }.Decode(dir.File("big.jpg"), ImagePreprocessing.ImageNet);
        Assert.Equal((400, 300), (eager.Width, eager.Height));
    }

    [Fact]
    public void Bytes_stream_and_bitmap_inputs_decode_like_the_file()
    {
        var path = SharedAssets.Photo("cat.jpg");
        var bytes = File.ReadAllBytes(path);
        using var fromFile = Decoder.Decode(path);
        using var fromBytes = Decoder.Decode(bytes, "cat");
        using var fromStream = Decoder.Decode(new MemoryStream(bytes), "cat");
        using var bitmap = SKBitmap.Decode(bytes);
        using var fromBitmap = Decoder.FromBitmap(bitmap);
        foreach (var other in new[] { fromBytes, fromStream, fromBitmap })
        {
            Assert.Equal((fromFile.Width, fromFile.Height), (other.Width, other.Height));
            for (var y = 0; y < fromFile.Height; y += 17)
                for (var x = 0; x < fromFile.Width; x += 13)
                    Assert.Equal(fromFile.GetPixel(x, y), other.GetPixel(x, y));
        }
    }

    [Fact]
    public void Unpremultiplied_bitmap_is_composited_on_white()
    {
        using var bitmap = new SKBitmap(new SKImageInfo(2, 1, SKColorType.Bgra8888, SKAlphaType.Unpremul));
        bitmap.SetPixel(0, 0, new SKColor(0, 0, 0, 0));
        bitmap.SetPixel(1, 0, new SKColor(0, 100, 200, 255));
        using var image = Decoder.FromBitmap(bitmap);
        AssertPixel(image, 0, 0, 255, 255, 255);
        AssertPixel(image, 1, 0, 0, 100, 200);
    }

    [Fact]
    public void Shared_photos_decode()
    {
        var photos = Directory.GetFiles(SharedAssets.Require(Path.Combine(SharedAssets.Root, "photos")), "*.jp*g");
        Assert.True(photos.Length >= 4);
        foreach (var photo in photos)
        {
            using var image = Decoder.Decode(photo);
            Assert.True(image.Width >= 300 && image.Height >= 300, $"{photo}: {image.Width}x{image.Height}");
            // A real photo is not one flat colour.
            var distinct = new HashSet<SKColor>();
            for (var y = 0; y < image.Height; y += 10)
                for (var x = 0; x < image.Width; x += 10)
                    distinct.Add(image.GetPixel(x, y));
            Assert.True(distinct.Count > 100, $"{photo}: {distinct.Count} colours");
        }
    }
}
