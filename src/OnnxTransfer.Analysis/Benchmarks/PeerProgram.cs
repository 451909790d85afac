using System.Diagnostics;
using System.Text;
using System.Text.Json;

namespace OnnxTransfer.Benchmarks;

/// <summary>
/// A benchmark peer under the repository's <c>bench/</c> folder (e.g. MlNetImagePeer): a separate .NET program that
/// does the same job with another library. It is published on demand (Release, this machine's runtime, precompiled
/// like the onnxtransfer tool, so whole-process times compare work, not JIT) and run as a child process that prints one
/// JSON object per stdout line (see bench/README.md).
/// </summary>
public sealed class PeerProgram
{
    /// <summary>Uses the project folder <paramref name="projectDirectory"/> (holding <c>&lt;Name&gt;.csproj</c>).</summary>
    public PeerProgram(string projectDirectory)
    {
        ProjectDirectory = Path.GetFullPath(projectDirectory);
        Name = Path.GetFileName(ProjectDirectory.TrimEnd(Path.DirectorySeparatorChar));
    }

    /// <summary>The project folder.</summary>
    public string ProjectDirectory { get; }

    /// <summary>Project (and assembly) name.</summary>
    public string Name { get; }

    /// <summary>The project file.</summary>
    public string ProjectFile => Path.Combine(ProjectDirectory, Name + ".csproj");

    /// <summary>
    /// The repository's <c>bench</c> folder found upwards from <paramref name="startDirectories"/> (a folder with
    /// a <c>bench/README.md</c>), or null.
    /// </summary>
    public static string? FindBenchFolder(IEnumerable<string> startDirectories)
    {
        foreach (var start in startDirectories)
            for (var dir = new DirectoryInfo(Path.GetFullPath(start)); dir is not null; dir = dir.Parent)
            {
                var bench = Path.Combine(dir.FullName, "bench");
                if (File.Exists(Path.Combine(bench, "README.md"))) return bench;
            }
        return null;
    }

    /// <summary>The peer <paramref name="name"/> inside <paramref name="benchFolder"/>; throws when it is not there.</summary>
    public static PeerProgram In(string benchFolder, string name)
    {
        var peer = new PeerProgram(Path.Combine(benchFolder, name));
        if (!File.Exists(peer.ProjectFile))
            throw new PeerException($"{peer.ProjectFile} not found; pass the repository's bench folder.");
        return peer;
    }

    /// <summary>The folder the peer is published to.</summary>
    public string PublishDirectory => Path.Combine(ProjectDirectory, "bin", "Release", "publish");

    /// <summary>Publishes the peer (Release, ReadyToRun for this machine; incremental) and returns its assembly path.</summary>
    /// <exception cref="PeerException">The build failed (the message carries the first error lines).</exception>
    public async Task<string> BuildAsync(CancellationToken ct = default)
    {
        var (code, stdout, stderr) = await ExecuteAsync(["publish", ProjectFile, "-c", "Release", "--use-current-runtime", "--self-contained", "false",
            "-p:PublishReadyToRun=true", "-o", PublishDirectory, "-nologo", "-v", "quiet", "-clp:ErrorsOnly"], ct).ConfigureAwait(false);
        if (code != 0)
            throw new PeerException($"{Name}: `dotnet publish -c Release` failed (exit {code}): {FirstLines(stdout + stderr, 3)}");
        var dll = Path.Combine(PublishDirectory, Name + ".dll");
        return File.Exists(dll) ? dll : throw new PeerException($"{Name}: published, but no {dll}.");
    }

    /// <summary>
    /// Runs the built peer <paramref name="assembly"/> with <paramref name="arguments"/> and parses its JSON lines.
    /// A non-zero exit with no JSON output is a <see cref="PeerException"/>; with output, the lines are returned
    /// (the peer reports failed items itself).
    /// </summary>
    public async Task<IReadOnlyList<JsonElement>> RunAsync(string assembly, IEnumerable<string> arguments, CancellationToken ct = default)
    {
        var (code, stdout, stderr) = await ExecuteAsync([assembly, .. arguments], ct).ConfigureAwait(false);
        var lines = ParseLines(stdout);
        if (lines.Count == 0)
            throw new PeerException($"{Name}: exit {code} without a JSON line: {FirstLines(stderr.Length > 0 ? stderr : stdout, 3)}");
        return lines;
    }

    /// <summary>The JSON objects among <paramref name="stdout"/>'s lines (other lines are ignored).</summary>
    public static IReadOnlyList<JsonElement> ParseLines(string stdout)
    {
        var result = new List<JsonElement>();
        foreach (var line in stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (!line.StartsWith('{')) continue;
            try { result.Add(JsonDocument.Parse(line).RootElement.Clone()); }
            catch (JsonException) { /* not a result line */ }
        }
        return result;
    }

    private static async Task<(int Code, string Stdout, string Stderr)> ExecuteAsync(IReadOnlyList<string> arguments, CancellationToken ct)
    {
        var info = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            StandardOutputEncoding = Encoding.UTF8,
            StandardErrorEncoding = Encoding.UTF8,
        };
        foreach (var a in arguments) info.ArgumentList.Add(a);
        info.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        info.Environment["DOTNET_NOLOGO"] = "1";
        using var process = new Process { StartInfo = info };
        try
        {
            process.Start();
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new PeerException($"could not start `dotnet` ({e.Message}); install the .NET SDK or put it on PATH.");
        }
        var stdout = process.StandardOutput.ReadToEndAsync(CancellationToken.None);
        var stderr = process.StandardError.ReadToEndAsync(CancellationToken.None);
        try
        {
            await process.WaitForExitAsync(ct).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            try { process.Kill(entireProcessTree: true); } catch (InvalidOperationException) { }
            throw;
        }
        return (process.ExitCode, await stdout.ConfigureAwait(false), await stderr.ConfigureAwait(false));
    }

    private static string FirstLines(string text, int count) =>
        string.Join(" | ", text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Take(count)) is { Length: > 0 } s ? s : "(no output)";
}

/// <summary>A benchmark peer could not be built or run; the benchmark reports it and goes on.</summary>
public sealed class PeerException(string message) : OnnxTransferException(message);
