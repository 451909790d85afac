using System.Diagnostics;
using OnnxTransfer.Data;
using OnnxTransfer.Features;
using OnnxTransfer.Imaging;
using OnnxTransfer.Tests.Features;
using OnnxTransfer.Tests.Imaging;

namespace OnnxTransfer.Tests.Hardening;

/// <summary>
/// Hostile or broken images: refused with one line naming the file (quickly, without large memory, never hanging) or
/// decoded correctly; in a batch extraction they go to the errors file and the run goes on; decoded pixels stay
/// within a memory budget; a dataset fit cannot hold out from is refused before extracting.
/// </summary>
public class HostileImageTests
{
    private static readonly ImagePreprocessing Tiny = new(4, 4, ResizeMode.Direct, 4, 1f / 255f, [0f, 0f, 0f], [1f, 1f, 1f], false, TensorLayout.Nchw);

    private static readonly byte[] Palette = [0, 0, 0, 255, 255, 255, 0, 0, 0, 0, 0, 0];

    private static byte[] GreyPng(int w, int h) => ImageFixtures.Png(w, h, 0, 8, new byte[w * h]);

    public static TheoryData<string, string> Refused => new()
    {
        { "9990x9990 png of 100 bytes", "--max-pixels" },
        { "65535x65535 png", "--max-pixels" },
        { "zero bytes", "empty" },
        { "text named png", "not a recognised image" },
        { "truncated png", "image" },
        { "zero width in the header", "image" },
        { "negative height in the header", "image" },
        { "gif with a zero-size screen", "image" },
        { "only the png signature", "image" },
        { "folder named jpg", "folder" },
    };

    private static byte[] Build(string kind)
    {
        switch (kind)
        {
            case "9990x9990 png of 100 bytes": return ImageFixtures.PngHeaderOnly(9990, 9990);
            case "65535x65535 png": return ImageFixtures.PngHeaderOnly(65535, 65535);
            case "zero bytes": return [];
            case "text named png": return "this is not an image\n"u8.ToArray();
            case "truncated png": var png = GreyPng(64, 64); return png[..(png.Length / 2)];
            case "zero width in the header": return ImageFixtures.PngHeaderOnly(0, 10);
            case "negative height in the header": return ImageFixtures.PngHeaderOnly(10, -5);
            case "gif with a zero-size screen":
                var gif = ImageFixtures.Gif(1, 1, Palette, [0]);
                gif.AsSpan(6, 4).Clear();   // logical screen
                gif.AsSpan(38, 4).Clear();  // the frame's width and height
                return gif;
            case "only the png signature": return [0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A];
            default: throw new ArgumentException(kind);
        }
    }

    [Theory]
    [MemberData(nameof(Refused))]
    public void A_hostile_image_is_refused_quickly_with_one_line_naming_it(string kind, string reason)
    {
        using var dir = new TempDir();
        var path = dir.File(kind == "folder named jpg" ? "x.jpg" : "x.png");
        if (kind == "folder named jpg") Directory.CreateDirectory(path);
        else File.WriteAllBytes(path, Build(kind));
        HostileInputs.RefusedQuickly(() => new ImageEncoder(Tiny).Encode(path), path, reason);
    }

    [Fact]
    public async Task A_fifo_named_jpg_is_refused_at_once_instead_of_blocking()
    {
        using var dir = new TempDir();
        var path = dir.File("pipe.jpg");
        HostileInputs.Fifo(path);
        var read = Task.Run(() => Assert.ThrowsAny<OnnxTransferException>(() => new ImageEncoder(Tiny).Encode(path)));
        Assert.Same(read, await Task.WhenAny(read, Task.Delay(TimeSpan.FromSeconds(10))));
        Assert.Contains("not a regular file", (await read).Message);
    }

    public static TheoryData<string> Decoded => new() { "png named jpg", "1x1 gif placeholder", "png with trailing garbage" };

    [Theory]
    [MemberData(nameof(Decoded))]
    public void An_odd_but_valid_image_is_decoded(string kind)
    {
        using var dir = new TempDir();
        var path = dir.File("x.jpg");
        File.WriteAllBytes(path, kind switch
        {
            "png named jpg" => GreyPng(8, 6),
            "1x1 gif placeholder" => ImageFixtures.Gif(1, 1, Palette, [1]),
            "png with trailing garbage" => [.. GreyPng(8, 6), .. new byte[100]],
            _ => throw new ArgumentException(kind),
        });
        Assert.Equal(3 * 4 * 4, new ImageEncoder(Tiny).Encode(path).Length);
    }

    [Fact]
    public void The_pixel_limit_can_be_raised()
    {
        using var dir = new TempDir();
        File.WriteAllBytes(dir.File("wide.png"), GreyPng(9000, 8000));  // 72 MP, over the default
        Assert.Contains("--max-pixels", Assert.Throws<ImageDecodeException>(() => new ImageDecoder().Decode(dir.File("wide.png"))).Message);
        using var image = new ImageDecoder { MaxPixels = 80_000_000 }.Decode(dir.File("wide.png"));
        Assert.Equal((9000, 8000), (image.Width, image.Height));
    }

    [Fact]
    public async Task Decoded_pixels_wait_for_the_memory_budget()
    {
        using var dir = new TempDir();
        File.WriteAllBytes(dir.File("a.png"), GreyPng(1000, 1000));  // 4 MB of RGBA
        var saved = PixelMemory.Budget;
        PixelMemory.Budget = 9_000_000;  // two at once
        try
        {
            var decoder = new ImageDecoder();
            using var first = decoder.Decode(dir.File("a.png"));
            var second = decoder.Decode(dir.File("a.png"));
            var third = Task.Run(() => decoder.Decode(dir.File("a.png")));
            await Task.Delay(500);
            Assert.False(third.IsCompleted);  // over budget: waits
            second.Dispose();
            using var decoded = await third.WaitAsync(TimeSpan.FromSeconds(10));
            Assert.InRange(PixelMemory.InUse, 8_000_000, 9_000_000);
        }
        finally { PixelMemory.Budget = saved; }
    }

    [Fact]
    public async Task Bad_images_in_a_batch_go_to_the_errors_file_and_the_run_goes_on()
    {
        using var dir = new TempDir();
        var items = new List<DatasetItem>();
        void Add(string name, byte[]? bytes)
        {
            var path = dir.File(name);
            if (bytes is null) HostileInputs.Fifo(path); else File.WriteAllBytes(path, bytes);
            items.Add(new DatasetItem(path, name, name.StartsWith("good") ? "good" : "bad", "train"));
        }
        for (var i = 0; i < 5; i++) Add($"good{i}.png", GreyPng(8 + i, 8));
        Add("huge.png", ImageFixtures.PngHeaderOnly(9990, 9990));
        Add("empty.png", []);
        Add("text.jpg", "hello"u8.ToArray());
        Add("pipe.jpg", null);
        Add("cut.png", GreyPng(64, 64)[..40]);

        using var session = FeatureTestKit.Session();
        var output = dir.File("out.parquet");
        var extraction = new FeatureExtractor(session, new ImageEncoder(Tiny), FeatureTestKit.Description("tiny"))
            .RunAsync(items, output, new FeatureExtractionOptions { BatchSize = 2, Threads = 2 });
        var summary = await extraction.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal((5, 5), (summary.Written, summary.Errors));
        Assert.Equal(5, (await FeatureStore.ReadAsync(output)).Count);
        var errors = File.ReadAllText(summary.ErrorsFile);
        foreach (var bad in new[] { "huge.png", "empty.png", "text.jpg", "pipe.jpg", "cut.png" }) Assert.Contains(bad, errors);
    }

    public static TheoryData<string, int, int, string> Unfittable => new()
    {
        { "1000 classes of one image each", 1000, 1, "single item" },
        { "one class", 1, 5, "at least 2" },
    };

    [Theory]
    [MemberData(nameof(Unfittable))]
    public async Task A_dataset_fit_cannot_use_is_refused_before_extracting(string name, int classes, int perClass, string reason)
    {
        _ = name;
        using var dir = new TempDir();
        var png = GreyPng(8, 8);
        for (var c = 0; c < classes; c++)
        {
            Directory.CreateDirectory(dir.File($"data/class{c:D4}"));
            for (var i = 0; i < perClass; i++) File.WriteAllBytes(dir.File($"data/class{c:D4}/{i}.png"), png);
        }
        using var learner = await Learner.CreateAsync(SharedAssets.MobileNetV2Int8);
        var clock = Stopwatch.StartNew();
        var e = await Assert.ThrowsAsync<OnnxTransferException>(() => learner.FitAsync(dir.File("data"), dir.File("m.onnx")));
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(5), $"took {clock.Elapsed}");
        Assert.Contains(dir.File("data"), e.Message);
        Assert.Contains(reason, e.Message);
        Assert.False(File.Exists(dir.File("m.features.parquet")));
        Assert.False(Directory.Exists(dir.File("m.features.parquet.partial")));
    }
}
