using System.Diagnostics;
using System.IO.Compression;
using System.Xml.Linq;

namespace OnnxTransfer.Tests.Packaging;

/// <summary>
/// The packages as a user gets them: <c>tools/pack</c> writes them (with a version unique to this run, so NuGet's
/// global cache never serves an older build) into a folder, and apps made under <see cref="AppsRoot"/> restore from it
/// through a nuget.config beside them, with the user's other sources for third-party packages.
/// </summary>
public sealed class PackageFeed : IDisposable
{
    private readonly TempDir _dir = new();

    public PackageFeed()
    {
        Folder = _dir.File("feed");
        Version = $"0.1.0-test.{DateTime.UtcNow:yyyyMMddHHmmss}";
        var clock = Stopwatch.StartNew();
        // One platform's tool package is enough here; tools/pack without it writes all four.
        PackLog = Run(Path.Combine(SharedAssets.RepoRoot, "tools", "pack"), [Folder, $"-p:Version={Version}", "-p:ToolRuntimeIdentifiers=linux-x64"],
            SharedAssets.RepoRoot, TimeSpan.FromMinutes(20));
        PackSeconds = clock.Elapsed.TotalSeconds;
        AppsRoot = Directory.CreateDirectory(_dir.File("apps")).FullName;
        File.WriteAllText(Path.Combine(AppsRoot, "nuget.config"), $"""
            <?xml version="1.0" encoding="utf-8"?>
            <configuration>
              <packageSources>
                <add key="onnxtransfer-feed" value="{Folder}" />
              </packageSources>
            </configuration>
            """);
    }

    /// <summary>The folder holding the .nupkg and .snupkg files.</summary>
    public string Folder { get; }

    /// <summary>The version every package of this run carries.</summary>
    public string Version { get; }

    /// <summary>Where test apps go (a nuget.config there adds <see cref="Folder"/> as a source).</summary>
    public string AppsRoot { get; }

    public string PackLog { get; }

    public double PackSeconds { get; }

    /// <summary>The path of package <paramref name="id"/> (".nupkg" or ".snupkg").</summary>
    public string Package(string id, string extension = ".nupkg") =>
        SharedAssets.Require(Path.Combine(Folder, $"{id}.{Version}{extension}"));

    /// <summary>The nuspec of package <paramref name="id"/>.</summary>
    public XElement Nuspec(string id)
    {
        using var zip = ZipFile.OpenRead(Package(id));
        var entry = zip.Entries.Single(e => e.FullName.EndsWith(".nuspec", StringComparison.Ordinal) && !e.FullName.Contains('/'));
        using var stream = entry.Open();
        return XDocument.Load(stream).Root!;
    }

    /// <summary>A new app folder under <see cref="AppsRoot"/> with a project file and Program.cs.</summary>
    public string NewApp(string name, string projectXml, string program)
    {
        var dir = Directory.CreateDirectory(Path.Combine(AppsRoot, name)).FullName;
        File.WriteAllText(Path.Combine(dir, name + ".csproj"), projectXml);
        File.WriteAllText(Path.Combine(dir, "Program.cs"), program);
        return dir;
    }

    /// <summary>Runs a program to its end; fails the test with its output when it exits non-zero.</summary>
    public static string Run(string file, IEnumerable<string> args, string workDir, TimeSpan? limit = null, IDictionary<string, string>? environment = null)
    {
        var psi = new ProcessStartInfo(file) { WorkingDirectory = workDir, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args) psi.ArgumentList.Add(a);
        psi.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        psi.Environment["DOTNET_NOLOGO"] = "1";
        // Apps here are outside the repository: they must not see its build flavour.
        psi.Environment.Remove("ONNXTRANSFER_ORT_FLAVOR");
        foreach (var (k, v) in environment ?? new Dictionary<string, string>()) psi.Environment[k] = v;
        using var p = Process.Start(psi)!;
        var stderr = p.StandardError.ReadToEndAsync();
        var stdout = p.StandardOutput.ReadToEndAsync();
        if (!p.WaitForExit(limit ?? TimeSpan.FromMinutes(10)))
        {
            p.Kill(entireProcessTree: true);
            throw new Xunit.Sdk.XunitException($"{file} {string.Join(' ', args)}: still running after {limit}");
        }
        p.WaitForExit();
        var output = stdout.Result + stderr.Result;
        Assert.True(p.ExitCode == 0, $"{file} {string.Join(' ', args)} exited {p.ExitCode}:\n{output}");
        return output;
    }

    /// <summary>Total size of the files under <paramref name="dir"/>, in MB.</summary>
    public static double SizeMb(string dir) =>
        Directory.EnumerateFiles(dir, "*", SearchOption.AllDirectories).Sum(f => new FileInfo(f).Length) / 1e6;

    public void Dispose() => _dir.Dispose();
}
