using System.Net;
using System.Net.Http.Headers;

namespace OnnxTransfer.Backbones;

/// <summary>
/// Downloads one file over HTTP(S): streams into <c>DEST.partial</c>, resumes an interrupted download with a
/// Range request, checks the SHA-256 and renames into place, so the destination is either absent or complete.
/// </summary>
internal sealed class FileDownloader
{
    private const int BufferSize = 1 << 16;
    private readonly HttpClient _http;

    /// <summary>Uses <paramref name="http"/> for every request (not disposed here).</summary>
    public FileDownloader(HttpClient http) => _http = http;

    /// <summary>An HttpClient with a short connect timeout (an offline machine fails fast) and no overall timeout (big files).</summary>
    public static HttpClient CreateHttpClient()
    {
        var handler = new SocketsHttpHandler
        {
            ConnectTimeout = TimeSpan.FromSeconds(15),
            AutomaticDecompression = DecompressionMethods.None,
            AllowAutoRedirect = true,
        };
        var http = new HttpClient(handler) { Timeout = Timeout.InfiniteTimeSpan };
        http.DefaultRequestHeaders.UserAgent.Add(new ProductInfoHeaderValue("OnnxTransfer", ToolInfo.Version));
        return http;
    }

    /// <summary>The partial file a download of <paramref name="destination"/> writes into.</summary>
    public static string PartialPath(string destination) => destination + ".partial";

    /// <summary>
    /// Downloads <paramref name="url"/> to <paramref name="destination"/>. When <paramref name="sha256"/> is given the
    /// result must match it (a mismatching download is deleted). Reports bytes through <paramref name="progress"/>.
    /// </summary>
    /// <exception cref="OnnxTransferException">HTTP error, unreachable host or checksum mismatch (one line).</exception>
    public async Task DownloadAsync(string url, string destination, string? sha256, long? expectedSize,
        IProgress<ProgressUpdate>? progress, string stage, CancellationToken ct)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(destination))!);
        var partial = PartialPath(destination);
        var resumeFrom = File.Exists(partial) ? new FileInfo(partial).Length : 0;
        if (expectedSize is { } size && resumeFrom > size) { File.Delete(partial); resumeFrom = 0; }

        try
        {
            if (expectedSize is { } full && resumeFrom == full)
            {
                // A complete partial from an interrupted run: verify it without asking the server.
                progress?.Report(new ProgressUpdate(stage, full, full, "bytes", "resumed"));
            }
            else
            {
                await FetchAsync(url, partial, resumeFrom, expectedSize, progress, stage, ct).ConfigureAwait(false);
            }
        }
        catch (HttpRequestException e)
        {
            throw new OnnxTransferException($"{url}: download failed ({Describe(e)}).", e);
        }
        catch (IOException e) when (e is not FileNotFoundException)
        {
            throw new OnnxTransferException($"{url}: download interrupted or could not write {partial} ({e.Message.Trim()}); run again to resume.", e);
        }

        var got = FileChecksum.Sha256(partial);
        if (sha256 is not null && !string.Equals(got, sha256, StringComparison.OrdinalIgnoreCase))
        {
            File.Delete(partial);
            throw new OnnxTransferException($"{url}: sha256 mismatch (got {got}, expected {sha256}); the download was deleted, the source serves a different file.");
        }
        File.Move(partial, destination, overwrite: true);
    }

    private async Task FetchAsync(string url, string partial, long resumeFrom, long? expectedSize,
        IProgress<ProgressUpdate>? progress, string stage, CancellationToken ct)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, url);
        if (resumeFrom > 0) request.Headers.Range = new RangeHeaderValue(resumeFrom, null);
        using var response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, ct).ConfigureAwait(false);

        if (response.StatusCode == HttpStatusCode.RequestedRangeNotSatisfiable && resumeFrom > 0)
        {
            // The partial is as long as (or longer than) the file: the checksum decides whether it is usable.
            return;
        }
        if (!response.IsSuccessStatusCode)
            throw new OnnxTransferException($"{url}: download failed (HTTP {(int)response.StatusCode} {response.ReasonPhrase}).");

        var append = resumeFrom > 0 && response.StatusCode == HttpStatusCode.PartialContent;
        var done = append ? resumeFrom : 0;
        var total = response.Content.Headers.ContentLength is { } len ? len + done : expectedSize;

        var body = await response.Content.ReadAsStreamAsync(ct).ConfigureAwait(false);
        await using var bodyScope = body.ConfigureAwait(false);
        var file = new FileStream(partial, append ? FileMode.Append : FileMode.Create, FileAccess.Write, FileShare.None, BufferSize);
        await using var fileScope = file.ConfigureAwait(false);
        var buffer = new byte[BufferSize];
        progress?.Report(new ProgressUpdate(stage, done, total, "bytes", append ? $"resuming at {done} bytes" : null));
        int read;
        while ((read = await body.ReadAsync(buffer, ct).ConfigureAwait(false)) > 0)
        {
            await file.WriteAsync(buffer.AsMemory(0, read), ct).ConfigureAwait(false);
            done += read;
            progress?.Report(new ProgressUpdate(stage, done, total, "bytes"));
        }
        await file.FlushAsync(ct).ConfigureAwait(false);
        if (total is { } t && done < t)
            throw new IOException($"connection closed after {done} of {t} bytes");
    }

    private static string Describe(HttpRequestException e)
    {
        var inner = e.InnerException?.Message ?? e.Message;
        return e.StatusCode is { } code ? $"HTTP {(int)code}: {inner}" : inner.Trim().TrimEnd('.');
    }
}
