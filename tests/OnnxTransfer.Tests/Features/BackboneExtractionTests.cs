using System.Diagnostics;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using OnnxTransfer.Backbones;
using OnnxTransfer.Features;
using OnnxTransfer.Imaging;

namespace OnnxTransfer.Tests.Features;

/// <summary>Extraction end to end with the real MobileNetV2-int8 backbone, through the library and the CLI.</summary>
public class BackboneExtractionTests
{
    private static BackboneRegistry Registry(TempDir dir) =>
        new(BackboneRegistry.BuiltInManifests, new BackboneLocations(dir.File("cache"), [SharedAssets.Models], AllowNetwork: false));

    [Fact]
    public async Task Hymenoptera_gives_one_row_per_image_matching_the_cut_model()
    {
        using var dir = new TempDir();
        using var backbone = await FeatureBackbone.LoadAsync("mobilenetv2-12-int8", registry: Registry(dir));
        var dataset = backbone.LoadDataset(SharedAssets.Dataset("hymenoptera"));
        var summary = await backbone.ExtractAsync(dataset.Items, dir.File("hym.parquet"));
        var table = await FeatureStore.ReadAsync(summary.Output);

        Assert.Equal(0, summary.Errors);
        Assert.Equal(398, table.Count);  // 124+121 train, 70+83 val, the GIF placeholder and "ant photos.jpg" included
        Assert.Equal(1280, table.Dimension);
        // Spinning off travels in the settings, which a CUDA → CPU fallback reapplies to its fresh options.
        Assert.False(backbone.SessionSettings.IntraOpSpinning);
        Assert.Contains(table.Paths, p => p.Contains(' '));
        Assert.Contains(table.Paths, p => p.EndsWith(".gif", StringComparison.Ordinal));

        // Independently: preprocess a few files and run the cut model alone, batch 1.
        var encoder = new ImageEncoder(ImagePreprocessing.ImageNet);
        using var session = new InferenceSession(backbone.FeatureModel.ToBytes());
        foreach (var row in new[] { 0, 150, table.Count - 1 })
        {
            var pixels = encoder.Encode(Path.Combine(dataset.Root, table.Paths[row]));
            using var results = session.Run([NamedOnnxValue.CreateFromTensor("input", new DenseTensor<float>(pixels, [1, 3, 224, 224]))]);
            var expected = results.First().AsEnumerable<float>().ToArray();
            var actual = table.Row(row).ToArray();
            Assert.Equal(expected.Length, actual.Length);
            for (var k = 0; k < expected.Length; k++) Assert.Equal(expected[k], actual[k], 4);
        }
    }

    [Fact]
    public async Task Bad_files_are_reported_and_the_good_ones_extracted()
    {
        using var dir = new TempDir();
        var good = Directory.CreateDirectory(dir.File("data/good")).FullName;
        var bad = Directory.CreateDirectory(dir.File("data/bad")).FullName;
        File.Copy(SharedAssets.Photo("dog.jpg"), Path.Combine(good, "dog.jpg"));
        File.Copy(SharedAssets.Photo("cat.jpg"), Path.Combine(good, "cat.jpg"));
        var photo = File.ReadAllBytes(SharedAssets.Photo("cat.jpg"));
        File.WriteAllBytes(Path.Combine(bad, "truncated.jpg"), photo[..(photo.Length / 5)]);
        File.WriteAllBytes(Path.Combine(bad, "empty.jpg"), []);
        File.WriteAllText(Path.Combine(bad, "text.jpg"), "not an image at all");
        var corrupt = photo.ToArray();
        for (var i = 600; i < corrupt.Length; i += 7) corrupt[i] ^= 0x5A;
        File.WriteAllBytes(Path.Combine(bad, "corrupt.jpg"), corrupt);
        File.WriteAllBytes(Path.Combine(bad, "huge.png"), Imaging.ImageFixtures.PngHeaderOnly(30000, 30000));

        using var backbone = await FeatureBackbone.LoadAsync("mobilenetv2-12-int8", registry: Registry(dir));
        var dataset = backbone.LoadDataset(dir.File("data"));
        var summary = await backbone.ExtractAsync(dataset.Items, dir.File("out.parquet"));

        var errors = File.ReadAllLines(summary.ErrorsFile).Skip(1).ToArray();
        Assert.Equal(2, (await FeatureStore.ReadAsync(summary.Output)).Count);
        foreach (var name in new[] { "truncated.jpg", "empty.jpg", "text.jpg", "huge.png" })
            Assert.Contains(errors, e => e.Contains(name));
        // A scrambled JPEG body may still decode (JPEG is forgiving); either way it is accounted for.
        Assert.Equal(summary.Errors, errors.Length);
        Assert.Equal(7, summary.Written + summary.Errors);
    }

    [Fact]
    public async Task Three_shard_processes_merge_to_exactly_the_single_process_result()
    {
        using var dir = new TempDir();
        var source = SharedAssets.Dataset("hymenoptera");
        foreach (var label in new[] { "ants", "bees" })
        {
            var target = Directory.CreateDirectory(dir.File($"data/{label}")).FullName;
            foreach (var f in Directory.GetFiles(Path.Combine(source, "train", label), "*.jpg").Order().Take(9))
                File.CreateSymbolicLink(Path.Combine(target, Path.GetFileName(f)), f);
        }
        string[] Extract(string output, string? shard) =>
            ["extract", "--backbone", "mobilenetv2-12-int8", "--data", dir.File("data"), "--out", output, "--threads", "1", "--allow-outside-paths",
             .. shard is null ? Array.Empty<string>() : ["--shard", shard]];

        Cli(dir, Extract(dir.File("single.parquet"), null)).WaitForExit();
        var shards = Enumerable.Range(0, 3).Select(i => Cli(dir, Extract(dir.File("sharded.parquet"), $"{i}/3"))).ToArray();
        foreach (var p in shards) { p.WaitForExit(); Assert.Equal(0, p.ExitCode); }
        var parts = Enumerable.Range(0, 3).Select(i => dir.File($"sharded.part-{i}-of-3.parquet")).ToArray();
        var merge = Cli(dir, ["merge", .. parts, "--out", dir.File("merged.parquet")]);
        merge.WaitForExit();
        Assert.Equal(0, merge.ExitCode);

        Assert.Equal(18, (await FeatureStore.ReadAsync(dir.File("single.parquet"))).Count);
        foreach (var p in parts) Assert.InRange((await FeatureStore.ReadAsync(p)).Count, 1, 17);
        Assert.Equal(File.ReadAllBytes(dir.File("single.parquet")), File.ReadAllBytes(dir.File("merged.parquet")));
    }

    // The CLI assembly is copied beside the tests (project reference); run it as its own process.
    private static Process Cli(TempDir dir, string[] args)
    {
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        psi.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "OnnxTransfer.Cli.dll"));
        foreach (var a in args) psi.ArgumentList.Add(a);
        psi.Environment["ONNXTRANSFER_MIRROR"] = SharedAssets.Models;
        psi.Environment["ONNXTRANSFER_HOME"] = dir.File("cache");
        psi.Environment["ONNXTRANSFER_OFFLINE"] = "1";
        var p = Process.Start(psi)!;
        p.OutputDataReceived += (_, _) => { };
        p.ErrorDataReceived += (_, _) => { };
        p.BeginOutputReadLine();
        p.BeginErrorReadLine();
        return p;
    }
}
