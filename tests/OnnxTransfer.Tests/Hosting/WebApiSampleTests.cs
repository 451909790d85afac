using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using System.Text.RegularExpressions;
using OnnxTransfer.Inference;
using OnnxTransfer.Tests.Export;
using Xunit.Abstractions;

namespace OnnxTransfer.Tests.Hosting;

/// <summary>
/// samples/WebApi end to end: built, started on a free loopback port with the model named by an environment
/// variable, then asked over HTTP for its health and for predictions of images (raw body and multipart form) and
/// of a file that is no image.
/// </summary>
[Collection(ExportCollection.Name)]
public partial class WebApiSampleTests(ExportFixture fx, ITestOutputHelper output)
{
    [Fact]
    public Task Sample_serves_health_and_predictions_and_refuses_a_bad_file_with_a_400() =>
        ServesAsync(Path.Combine(SharedAssets.RepoRoot, "samples", "WebApi", "WebApi.csproj"), fx, output);

    /// <summary>Builds <paramref name="project"/> (the sample, or a copy of it on packages) and checks it end to end.</summary>
    internal static async Task ServesAsync(string project, ExportFixture fx, ITestOutputHelper output)
    {
        using var dir = new TempDir();
        var bin = Path.Combine(dir.Path, "bin");
        var clock = Stopwatch.StartNew();
        Build(project, bin, dir.Path);
        output.WriteLine($"build: {clock.Elapsed.TotalSeconds:F1} s");

        using var server = new Server(Start(bin, dir.Path, fx.FloatModelPath), output);
        using var http = new HttpClient { BaseAddress = await server.Address.WaitAsync(TimeSpan.FromMinutes(2)) };
        output.WriteLine($"listening at {http.BaseAddress} after {clock.Elapsed.TotalSeconds:F1} s");

        clock.Restart();
        using var health = await http.GetAsync("/health");
        var healthJson = await health.Content.ReadAsStringAsync();
        output.WriteLine($"GET /health ({clock.ElapsedMilliseconds} ms, loads the model): {healthJson}");
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
        using (var h = JsonDocument.Parse(healthJson))
        {
            Assert.Equal("Healthy", h.RootElement.GetProperty("status").GetString());
            Assert.StartsWith("model.onnx on CPUExecutionProvider", h.RootElement.GetProperty("checks")[0].GetProperty("description").GetString());
        }

        using var model = TransferModel.Load(fx.FloatModelPath);
        var ant = fx.TestImages[0];
        var bee = fx.TestImages[^1];
        clock.Restart();
        using (var raw = new ByteArrayContent(File.ReadAllBytes(ant)))
        {
            raw.Headers.ContentType = new MediaTypeHeaderValue("image/jpeg");
            await AssertPrediction(await http.PostAsync("/predict", raw), model.Predict(ant));
        }
        output.WriteLine($"POST /predict raw body: {clock.ElapsedMilliseconds} ms");
        clock.Restart();
        await AssertPrediction(await http.PostAsync("/predict", Form(File.ReadAllBytes(bee), Path.GetFileName(bee))), model.Predict(bee));
        output.WriteLine($"POST /predict multipart: {clock.ElapsedMilliseconds} ms");

        using var bad = await http.PostAsync("/predict", Form("this is not an image"u8.ToArray(), "notes.jpg"));
        var badJson = await bad.Content.ReadAsStringAsync();
        output.WriteLine($"bad file: {(int)bad.StatusCode} {badJson}");
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        using (var b = JsonDocument.Parse(badJson))
        {
            var error = b.RootElement.GetProperty("error").GetString()!;
            Assert.StartsWith("notes.jpg: ", error);
            Assert.DoesNotContain('\n', error);
        }

        using var empty = await http.PostAsync("/predict", new ByteArrayContent([]));
        Assert.Equal(HttpStatusCode.BadRequest, empty.StatusCode);
        Assert.Contains("request body: empty", await empty.Content.ReadAsStringAsync());

        // A model path that does not exist stops the app at start with one line naming the setting.
        var missing = Path.Combine(dir.Path, "missing.onnx");
        var (exitCode, stderr) = await RunToExit(Start(bin, dir.Path, missing));
        Assert.Equal(1, exitCode);
        Assert.Contains($"error: TransferModel:ModelPath {missing}: no such file; set TransferModel:ModelPath (environment: TransferModel__ModelPath)", stderr);
    }

    private static async Task<(int ExitCode, string Stderr)> RunToExit(Process process)
    {
        using (process)
        {
            var stderr = process.StandardError.ReadToEndAsync();
            var stdout = process.StandardOutput.ReadToEndAsync();
            using var limit = new CancellationTokenSource(TimeSpan.FromMinutes(2));
            try { await process.WaitForExitAsync(limit.Token); }
            catch (OperationCanceledException)
            {
                process.Kill(entireProcessTree: true);
                throw new Xunit.Sdk.XunitException($"the sample did not stop on a missing model:\n{await stdout}\n{await stderr}");
            }
            return (process.ExitCode, await stderr);
        }
    }

    private static async Task AssertPrediction(HttpResponseMessage response, Prediction expected)
    {
        using (response)
        {
            var json = await response.Content.ReadAsStringAsync();
            Assert.True(response.StatusCode == HttpStatusCode.OK, $"{(int)response.StatusCode}: {json}");
            using var doc = JsonDocument.Parse(json);
            var root = doc.RootElement;
            Assert.Equal(expected.Label, root.GetProperty("label").GetString());
            Assert.Equal(expected.Score, root.GetProperty("score").GetSingle(), 1e-5f);
            var scores = root.GetProperty("scores").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetSingle());
            Assert.Equal(expected.Labels.Order(), scores.Keys.Order());
            foreach (var (label, probability) in expected.Probabilities)
                Assert.Equal(probability, scores[label], 1e-5f);
        }
    }

    private static MultipartFormDataContent Form(byte[] bytes, string fileName)
    {
        var file = new ByteArrayContent(bytes);
        file.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        return new MultipartFormDataContent { { file, "file", fileName } };
    }

    private static void Build(string project, string bin, string workDir)
    {
        var psi = new ProcessStartInfo("dotnet") { WorkingDirectory = workDir, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { "build", project, "-c", "Release", "-o", bin, "-nologo", "-v", "quiet" }) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var stderr = p.StandardError.ReadToEndAsync();
        var stdout = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        Assert.True(p.ExitCode == 0, $"dotnet build {project} exited {p.ExitCode}:\n{stdout}\n{stderr.Result}");
    }

    /// <summary>Starts the sample on port 0 (the OS picks a free one) serving <paramref name="model"/>.</summary>
    private static Process Start(string bin, string workDir, string model)
    {
        var psi = new ProcessStartInfo("dotnet") { WorkingDirectory = bin, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { Path.Combine(bin, "WebApi.dll"), "--urls", "http://127.0.0.1:0" }) psi.ArgumentList.Add(a);
        // appsettings.json names model.onnx beside the app; the environment overrides it, as a deployment would.
        psi.Environment["TransferModel__ModelPath"] = model;
        psi.Environment["TransferModel__Threads"] = "1";
        psi.Environment["ONNXTRANSFER_MIRROR"] = SharedAssets.Models;
        psi.Environment["ONNXTRANSFER_HOME"] = Path.Combine(workDir, "cache");
        psi.Environment["ONNXTRANSFER_OFFLINE"] = "1";
        psi.Environment["ASPNETCORE_ENVIRONMENT"] = "Production";
        return Process.Start(psi)!;
    }

    /// <summary>A started sample; <see cref="Address"/> completes when it logs where it listens.</summary>
    private sealed partial class Server : IDisposable
    {
        private readonly Process _process;
        private readonly TaskCompletionSource<Uri> _address = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly List<string> _log = [];

        public Server(Process process, ITestOutputHelper output)
        {
            _process = process;
            Output = output;
            process.OutputDataReceived += (_, e) => OnLine(e.Data);
            process.ErrorDataReceived += (_, e) => OnLine(e.Data);
            process.Exited += (_, _) => _address.TrySetException(new Xunit.Sdk.XunitException($"the sample exited ({process.ExitCode}) before listening:\n{Log}"));
            process.EnableRaisingEvents = true;
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
        }

        private ITestOutputHelper Output { get; }

        public Task<Uri> Address => _address.Task;

        private string Log { get { lock (_log) return string.Join('\n', _log); } }

        private void OnLine(string? line)
        {
            if (line is null) return;
            lock (_log) _log.Add(line);
            if (Listening().Match(line) is { Success: true } m) _address.TrySetResult(new Uri(m.Groups[1].Value));
        }

        public void Dispose()
        {
            if (!_process.HasExited) _process.Kill(entireProcessTree: true);
            _process.WaitForExit();
            Output.WriteLine($"sample log:\n{Log}");
            _process.Dispose();
        }

        [GeneratedRegex(@"Now listening on: (http://\S+)")]
        private static partial Regex Listening();
    }
}
