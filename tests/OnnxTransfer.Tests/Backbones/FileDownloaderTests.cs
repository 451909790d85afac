using System.Security.Cryptography;
using OnnxTransfer.Backbones;

namespace OnnxTransfer.Tests.Backbones;

[Collection(LocalHttpServer.Collection)]
public class FileDownloaderTests
{
    private static byte[] RandomBytes(int n, int seed)
    {
        var b = new byte[n];
        new Random(seed).NextBytes(b);
        return b;
    }

    private static string Sha(byte[] b) => Convert.ToHexStringLower(SHA256.HashData(b));

    private sealed class Collect : IProgress<ProgressUpdate>
    {
        public List<ProgressUpdate> Updates { get; } = [];
        public void Report(ProgressUpdate value) { lock (Updates) Updates.Add(value); }
    }

    [Fact]
    public async Task Downloads_checks_sha256_renames_atomically_and_reports_bytes()
    {
        using var server = new LocalHttpServer();
        using var dir = new TempDir();
        var content = RandomBytes(300_000, 1);
        var url = server.Serve("m.onnx", content);
        var dest = dir.File("m.onnx");
        var progress = new Collect();
        using var http = FileDownloader.CreateHttpClient();

        await new FileDownloader(http).DownloadAsync(url, dest, Sha(content), content.Length, progress, "download m.onnx", default);

        Assert.Equal(content, File.ReadAllBytes(dest));
        Assert.False(File.Exists(FileDownloader.PartialPath(dest)));
        var last = progress.Updates[^1];
        Assert.Equal(("bytes", content.Length, (long?)content.Length), (last.Unit, last.Done, last.Total));
        Assert.True(progress.Updates.Select(u => u.Done).SequenceEqual(progress.Updates.Select(u => u.Done).Order()), "progress never goes back");
    }

    [Fact]
    public async Task Resumes_from_a_partial_file_with_a_range_request()
    {
        using var server = new LocalHttpServer();
        using var dir = new TempDir();
        var content = RandomBytes(200_000, 2);
        var url = server.Serve("m.onnx", content);
        var dest = dir.File("m.onnx");
        const int have = 123_457;
        File.WriteAllBytes(FileDownloader.PartialPath(dest), content[..have]);
        using var http = FileDownloader.CreateHttpClient();

        await new FileDownloader(http).DownloadAsync(url, dest, Sha(content), content.Length, null, "d", default);

        Assert.Equal(content, File.ReadAllBytes(dest));
        var request = Assert.Single(server.Requests);
        Assert.Equal($"bytes={have}-", request.Range);
        Assert.Equal(content.Length - have, request.BytesSent);
    }

    [Fact]
    public async Task A_server_that_ignores_range_still_yields_the_right_file()
    {
        using var server = new LocalHttpServer { SupportRange = false };
        using var dir = new TempDir();
        var content = RandomBytes(50_000, 3);
        var url = server.Serve("m.onnx", content);
        var dest = dir.File("m.onnx");
        File.WriteAllBytes(FileDownloader.PartialPath(dest), content[..10_000]);
        using var http = FileDownloader.CreateHttpClient();

        await new FileDownloader(http).DownloadAsync(url, dest, Sha(content), content.Length, null, "d", default);

        Assert.Equal(content, File.ReadAllBytes(dest));
        Assert.Equal(content.Length, Assert.Single(server.Requests).BytesSent);
    }

    [Fact]
    public async Task Sha256_mismatch_deletes_the_download_and_says_so()
    {
        using var server = new LocalHttpServer();
        using var dir = new TempDir();
        var content = RandomBytes(10_000, 4);
        var url = server.Serve("m.onnx", content);
        var dest = dir.File("m.onnx");
        using var http = FileDownloader.CreateHttpClient();
        var wrong = Sha(RandomBytes(10, 5));

        var e = await Assert.ThrowsAsync<OnnxTransferException>(() =>
            new FileDownloader(http).DownloadAsync(url, dest, wrong, content.Length, null, "d", default));

        Assert.Contains("sha256 mismatch", e.Message);
        Assert.Contains(Sha(content), e.Message);
        Assert.Contains(url, e.Message);
        Assert.DoesNotContain('\n', e.Message);
        Assert.False(File.Exists(dest));
        Assert.False(File.Exists(FileDownloader.PartialPath(dest)));
    }

    [Fact]
    public async Task Http_errors_are_one_line_with_the_status()
    {
        using var server = new LocalHttpServer();
        using var dir = new TempDir();
        using var http = FileDownloader.CreateHttpClient();
        var url = server.BaseUrl + "missing.onnx";

        var e = await Assert.ThrowsAsync<OnnxTransferException>(() =>
            new FileDownloader(http).DownloadAsync(url, dir.File("x"), null, null, null, "d", default));

        Assert.Contains("404", e.Message);
        Assert.Contains(url, e.Message);
        Assert.False(File.Exists(dir.File("x")));
    }
}
