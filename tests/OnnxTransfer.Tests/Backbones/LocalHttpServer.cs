using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;

namespace OnnxTransfer.Tests.Backbones;

/// <summary>
/// A tiny HTTP server on 127.0.0.1 serving fixed byte arrays by path, with optional Range support, recording
/// each request. Stops when disposed.
/// </summary>
public sealed class LocalHttpServer : IDisposable
{
    /// <summary>Tests using a server run one at a time: the managed listener's port handling is racy under parallel start/stop.</summary>
    public const string Collection = "local http server";

    private readonly HttpListener _listener = new();
    private readonly ConcurrentDictionary<string, byte[]> _files = new();
    private readonly Task _loop;

    public LocalHttpServer()
    {
        // Pick a free port, then listen on it (retry on the rare race with another process).
        for (var attempt = 0; ; attempt++)
        {
            var probe = new TcpListener(IPAddress.Loopback, 0);
            probe.Start();
            var port = ((IPEndPoint)probe.LocalEndpoint).Port;
            probe.Stop();
            BaseUrl = $"http://127.0.0.1:{port}/";
            _listener.Prefixes.Clear();
            _listener.Prefixes.Add(BaseUrl);
            try { _listener.Start(); break; }
            catch (HttpListenerException) when (attempt < 5) { }
        }
        _loop = Task.Run(LoopAsync);
    }

    /// <summary>e.g. http://127.0.0.1:12345/</summary>
    public string BaseUrl { get; }

    /// <summary>Honour Range requests (206) or ignore them (200 with the whole file).</summary>
    public bool SupportRange { get; set; } = true;

    /// <summary>Each request: path and its Range header (or null).</summary>
    public ConcurrentQueue<(string Path, string? Range, long BytesSent)> Requests { get; } = new();

    public string Serve(string path, byte[] content)
    {
        _files[path.TrimStart('/')] = content;
        return BaseUrl + path.TrimStart('/');
    }

    private async Task LoopAsync()
    {
        while (_listener.IsListening)
        {
            HttpListenerContext context;
            try { context = await _listener.GetContextAsync(); }
            catch (Exception e) when (e is HttpListenerException or ObjectDisposedException or InvalidOperationException) { return; }
            try { Handle(context); }
            catch (Exception e) when (e is HttpListenerException or IOException) { }
        }
    }

    private void Handle(HttpListenerContext context)
    {
        var path = context.Request.Url!.AbsolutePath.TrimStart('/');
        var range = context.Request.Headers["Range"];
        var response = context.Response;
        if (!_files.TryGetValue(Uri.UnescapeDataString(path), out var content))
        {
            response.StatusCode = 404;
            response.Close();
            Requests.Enqueue((path, range, 0));
            return;
        }
        long start = 0;
        if (SupportRange && range is not null && range.StartsWith("bytes=") && range.EndsWith('-'))
        {
            start = long.Parse(range["bytes=".Length..^1]);
            if (start >= content.Length)
            {
                response.StatusCode = 416;
                response.Close();
                Requests.Enqueue((path, range, 0));
                return;
            }
            response.StatusCode = 206;
            response.Headers["Content-Range"] = $"bytes {start}-{content.Length - 1}/{content.Length}";
        }
        var body = content.AsSpan((int)start).ToArray();
        response.ContentLength64 = body.Length;
        response.OutputStream.Write(body);
        response.Close();
        Requests.Enqueue((path, range, body.Length));
    }

    public void Dispose()
    {
        // The managed HttpListener may re-resolve its endpoint while closing and throw "Address already in use"
        // when another test has taken the port meanwhile; the listener is stopped either way.
        try { _listener.Stop(); _listener.Close(); } catch (HttpListenerException) { }
        try { _loop.Wait(TimeSpan.FromSeconds(5)); } catch (AggregateException) { }
    }
}
