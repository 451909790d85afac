using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace OnnxTransfer.Tests.Evaluation;

/// <summary>
/// Debian's headless Chromium driven over the DevTools protocol (a WebSocket, no extra packages): open a local page, run
/// script in it as a user's clicks would, collect console errors and uncaught exceptions, take screenshots.
/// Chromium is required: a missing browser fails the test (tools/bootstrap installs it).
/// </summary>
internal sealed class HeadlessChromium : IAsyncDisposable
{
    private readonly Process _process;
    private readonly string _profile;
    private readonly ClientWebSocket _socket = new();
    private readonly ConcurrentDictionary<int, TaskCompletionSource<JsonElement>> _pending = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _reader;
    private TaskCompletionSource _loaded = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _nextId;

    /// <summary>Console errors, uncaught exceptions and error log entries of the pages opened so far.</summary>
    public ConcurrentQueue<string> Errors { get; } = new();

    private HeadlessChromium(Process process, string profile, Uri page)
    {
        _process = process;
        _profile = profile;
        _socket.ConnectAsync(page, CancellationToken.None).GetAwaiter().GetResult();
        _reader = Task.Run(ReadLoop);
    }

    /// <summary>The browser binary: $CHROMIUM, else chromium / chromium-browser / google-chrome on PATH.</summary>
    public static string Binary()
    {
        var env = Environment.GetEnvironmentVariable("CHROMIUM");
        if (!string.IsNullOrEmpty(env) && File.Exists(env)) return env;
        foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator))
            foreach (var name in new[] { "chromium", "chromium-browser", "google-chrome" })
                if (File.Exists(Path.Combine(dir, name))) return Path.Combine(dir, name);
        throw new InvalidOperationException("chromium not found: the report tests need a real browser; run tools/bootstrap (apt-get install chromium) or set CHROMIUM=/path/to/chrome.");
    }

    /// <summary>Starts the browser with a fresh profile and a <paramref name="width"/> x <paramref name="height"/> window.</summary>
    public static async Task<HeadlessChromium> StartAsync(int width = 1280, int height = 900)
    {
        var profile = Path.Combine(Path.GetTempPath(), "onnxtransfer-chromium-" + Guid.NewGuid().ToString("N")[..10]);
        Directory.CreateDirectory(profile);
        var start = new ProcessStartInfo(Binary())
        {
            RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false,
        };
        foreach (var arg in new[]
        {
            "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run", "--no-default-browser-check",
            "--disable-extensions", "--disable-background-networking", "--disable-component-update", "--mute-audio",
            "--remote-debugging-port=0", $"--user-data-dir={profile}", $"--window-size={width},{height}", "about:blank",
        }) start.ArgumentList.Add(arg);
        var process = Process.Start(start)!;
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        // Chromium writes the port it chose into the profile once it listens.
        var portFile = Path.Combine(profile, "DevToolsActivePort");
        var deadline = DateTime.UtcNow.AddSeconds(60);
        string[]? lines = null;
        while (DateTime.UtcNow < deadline && !process.HasExited)
        {
            if (File.Exists(portFile) && (lines = File.ReadAllLines(portFile)).Length >= 1 && lines[0].Length > 0) break;
            await Task.Delay(100);
        }
        if (lines is not { Length: >= 1 } || lines[0].Length == 0)
        {
            Kill(process);
            throw new InvalidOperationException($"chromium ({Binary()}) did not open its DevTools port within 60 s (exited: {process.HasExited}).");
        }
        using var http = new HttpClient();
        var targets = JsonNode.Parse(await http.GetStringAsync($"http://127.0.0.1:{lines[0]}/json/list"))!.AsArray();
        var page = targets.First(t => (string?)t!["type"] == "page")!["webSocketDebuggerUrl"]!.GetValue<string>();
        var browser = new HeadlessChromium(process, profile, new Uri(page));
        await browser.SendAsync("Runtime.enable");
        await browser.SendAsync("Log.enable");
        await browser.SendAsync("Page.enable");
        return browser;
    }

    /// <summary>Opens <paramref name="file"/> and waits until its script marked the body rendered (or fails after 60 s).</summary>
    public async Task<TimeSpan> OpenAsync(string file)
    {
        _loaded = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var clock = Stopwatch.StartNew();
        await SendAsync("Page.navigate", new JsonObject { ["url"] = new Uri(Path.GetFullPath(file)).AbsoluteUri });
        await _loaded.Task.WaitAsync(TimeSpan.FromSeconds(60));
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (await EvaluateAsync<string?>("document.body && document.body.dataset.rendered || null") != "true")
        {
            if (DateTime.UtcNow > deadline || !Errors.IsEmpty)
                throw new InvalidOperationException($"{file}: the page did not render: {string.Join(" | ", Errors)}");
            await Task.Delay(50);
        }
        return clock.Elapsed;
    }

    /// <summary>Runs <paramref name="expression"/> in the page (promises awaited) and returns its JSON value.</summary>
    public async Task<T> EvaluateAsync<T>(string expression)
    {
        var result = await SendAsync("Runtime.evaluate", new JsonObject
        {
            ["expression"] = expression, ["returnByValue"] = true, ["awaitPromise"] = true,
        });
        if (result.TryGetProperty("exceptionDetails", out var ex))
            throw new InvalidOperationException($"page script failed: {ex.GetRawText()}");
        var value = result.GetProperty("result");
        return value.TryGetProperty("value", out var v) ? v.Deserialize<T>()! : default!;
    }

    /// <summary>Writes a PNG (JPEG for a .jpg path) of the page's top <paramref name="height"/> CSS pixels at <paramref name="scale"/>.</summary>
    public Task ScreenshotAsync(string path, int width = 1280, int height = 1400, double scale = 0.75) => CaptureAsync(path, 0, width, height, scale);

    /// <summary>Writes a PNG (JPEG for a .jpg path) of the element <paramref name="selector"/> (at most <paramref name="maxHeight"/> CSS pixels of it).</summary>
    public async Task ScreenshotElementAsync(string path, string selector, int maxHeight = 1000, double scale = 0.75)
    {
        var box = await EvaluateAsync<double[]>($"(() => {{ const r = document.querySelector('{selector}').getBoundingClientRect(); return [r.left + scrollX, r.top + scrollY, r.width, r.height]; }})()");
        await CaptureAsync(path, box[1] - 8, 1280, Math.Min(maxHeight, box[3] + 16), scale);
    }

    private async Task CaptureAsync(string path, double y, double width, double height, double scale)
    {
        var result = await SendAsync("Page.captureScreenshot", new JsonObject
        {
            // .jpg for photo-heavy shots (a gallery is 3x smaller as JPEG), else PNG.
            ["format"] = path.EndsWith(".jpg", StringComparison.OrdinalIgnoreCase) ? "jpeg" : "png", ["quality"] = 80, ["captureBeyondViewport"] = true,
            ["clip"] = new JsonObject { ["x"] = 0, ["y"] = y, ["width"] = width, ["height"] = height, ["scale"] = scale },
        });
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        await File.WriteAllBytesAsync(path, Convert.FromBase64String(result.GetProperty("data").GetString()!));
    }

    private async Task<JsonElement> SendAsync(string method, JsonObject? parameters = null)
    {
        var id = Interlocked.Increment(ref _nextId);
        var reply = new TaskCompletionSource<JsonElement>(TaskCreationOptions.RunContinuationsAsynchronously);
        _pending[id] = reply;
        var message = new JsonObject { ["id"] = id, ["method"] = method, ["params"] = parameters ?? new JsonObject() };
        await _socket.SendAsync(Encoding.UTF8.GetBytes(message.ToJsonString()), WebSocketMessageType.Text, true, _stop.Token);
        return await reply.Task.WaitAsync(TimeSpan.FromSeconds(60));
    }

    private async Task ReadLoop()
    {
        var buffer = new byte[1 << 16];
        var message = new MemoryStream();
        try
        {
            while (_socket.State == WebSocketState.Open && !_stop.IsCancellationRequested)
            {
                var r = await _socket.ReceiveAsync(buffer, _stop.Token);
                if (r.MessageType == WebSocketMessageType.Close) break;
                message.Write(buffer, 0, r.Count);
                if (!r.EndOfMessage) continue;
                using var doc = JsonDocument.Parse(message.ToArray());
                message.SetLength(0);
                Dispatch(doc.RootElement.Clone());
            }
        }
        catch (Exception e) when (e is OperationCanceledException or WebSocketException) { }
        foreach (var p in _pending.Values) p.TrySetException(new InvalidOperationException("the browser connection closed."));
    }

    private void Dispatch(JsonElement m)
    {
        if (m.TryGetProperty("id", out var id))
        {
            if (!_pending.TryRemove(id.GetInt32(), out var reply)) return;
            if (m.TryGetProperty("error", out var error)) reply.TrySetException(new InvalidOperationException($"DevTools: {error.GetRawText()}"));
            else reply.TrySetResult(m.GetProperty("result"));
            return;
        }
        var method = m.GetProperty("method").GetString();
        var p = m.TryGetProperty("params", out var ps) ? ps : default;
        switch (method)
        {
            case "Page.loadEventFired":
                _loaded.TrySetResult();
                break;
            case "Runtime.exceptionThrown":
                Errors.Enqueue("exception: " + p.GetProperty("exceptionDetails").GetRawText());
                break;
            case "Runtime.consoleAPICalled" when p.GetProperty("type").GetString() is "error" or "assert":
                Errors.Enqueue("console: " + p.GetProperty("args").GetRawText());
                break;
            case "Log.entryAdded" when p.GetProperty("entry").GetProperty("level").GetString() == "error":
                Errors.Enqueue("log: " + p.GetProperty("entry").GetProperty("text").GetString());
                break;
        }
    }

    private static void Kill(Process process)
    {
        try { if (!process.HasExited) process.Kill(entireProcessTree: true); } catch (InvalidOperationException) { }
        process.WaitForExit(10_000);
    }

    public async ValueTask DisposeAsync()
    {
        try { await SendAsync("Browser.close").WaitAsync(TimeSpan.FromSeconds(5)); } catch (Exception) { }
        _stop.Cancel();
        try { await _reader.WaitAsync(TimeSpan.FromSeconds(5)); } catch (Exception) { }
        _socket.Dispose();
        Kill(_process);
        _process.Dispose();
        try { Directory.Delete(_profile, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}
