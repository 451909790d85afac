using System.Xml.Linq;
using OnnxTransfer.Inference;
using OnnxTransfer.Tests.Export;
using OnnxTransfer.Tests.Hosting;
using Xunit.Abstractions;

namespace OnnxTransfer.Tests.Packaging;

/// <summary>
/// The packages from <c>tools/pack</c>, used the way a .NET team would: a fresh console app that trains and predicts,
/// a predict-only app published trimmed, the ASP.NET Core sample on packages instead of project references, and the
/// CLI installed as a .NET tool.
/// </summary>
[Collection(ExportCollection.Name)]
public class PackageConsumptionTests(ExportFixture fx, PackageFeed feed, ITestOutputHelper output) : IClassFixture<PackageFeed>
{
    private static string OrtVersion => ToolInfo.OnnxRuntimeBuildVersion;

    [Fact]
    public void Packages_carry_licence_readme_repository_symbols_and_only_the_dependencies_they_use()
    {
        output.WriteLine($"tools/pack: {feed.PackSeconds:F0} s\n{feed.PackLog}");
        foreach (var id in new[] { "OnnxTransfer.Inference", "OnnxTransfer.Training", "OnnxTransfer.Hosting", "onnxtransfer" })
        {
            var nuspec = feed.Nuspec(id);
            var ns = nuspec.Name.Namespace;
            var metadata = nuspec.Element(ns + "metadata")!;
            string? Field(string name) => metadata.Element(ns + name)?.Value;
            Assert.Equal("MIT", Field("license"));
            Assert.Equal("README.md", Field("readme"));
            Assert.False(string.IsNullOrWhiteSpace(Field("description")));
            Assert.NotEqual("Package Description", Field("description"));
            var repository = metadata.Element(ns + "repository")!;
            Assert.Matches("^[0-9a-f]{40}$", repository.Attribute("commit")!.Value);
            if (id != "onnxtransfer") Assert.True(File.Exists(feed.Package(id, ".snupkg")), $"{id}: no symbol package");
        }

        var inference = Dependencies("OnnxTransfer.Inference");
        output.WriteLine($"OnnxTransfer.Inference depends on: {string.Join(", ", inference)}");
        Assert.Equal(["Microsoft.Extensions.Logging.Abstractions", "Microsoft.ML.OnnxRuntime.Managed", "SkiaSharp", "SkiaSharp.NativeAssets.Linux"], inference);
        var training = Dependencies("OnnxTransfer.Training");
        output.WriteLine($"OnnxTransfer.Training depends on: {string.Join(", ", training)}");
        Assert.Contains("OnnxTransfer.Inference", training);
        // The app picks the native runtime; nothing the library never calls.
        foreach (var id in new[] { "OnnxTransfer.Inference", "OnnxTransfer.Training", "OnnxTransfer.Hosting" })
            Assert.DoesNotContain(Dependencies(id), d => d is "Microsoft.ML.OnnxRuntime" or "Microsoft.ML.OnnxRuntime.Gpu" or "MathNet.Numerics");
    }

    [Fact]
    public void A_fresh_console_app_trains_and_predicts_from_the_packages()
    {
        var quickStart = File.ReadAllText(Path.Combine(SharedAssets.RepoRoot, "samples", "QuickStart", "Program.cs"));
        var app = feed.NewApp("TrainApp", Project(("OnnxTransfer.Training", feed.Version), ("Microsoft.ML.OnnxRuntime", OrtVersion)), quickStart);
        var bin = Path.Combine(app, "out");
        PackageFeed.Run("dotnet", ["build", app, "-c", "Release", "-o", bin, "-nologo", "-v", "quiet"], app);
        using var dir = new TempDir();
        var data = SharedAssets.SmallHymenoptera(dir, 8, 4);
        var stdout = PackageFeed.Run("dotnet", [Path.Combine(bin, "TrainApp.dll"), data, dir.File("model.onnx")], app, environment: ModelEnvironment(dir));
        output.WriteLine(stdout);
        Assert.Contains("held-out accuracy", stdout);
        Assert.Equal(4, stdout.Split('\n').Count(l => System.Text.RegularExpressions.Regex.IsMatch(l, @"\.jpg: (ants|bees) \(")));
    }

    [Fact]
    public void A_predict_only_app_publishes_trimmed_and_predicts_like_the_library()
    {
        const string program = """
            using OnnxTransfer.Inference;
            using var model = TransferModel.Load(args[0]);
            foreach (var file in args[1..])
            {
                var p = model.Predict(file);
                Console.WriteLine($"{Path.GetFileName(file)} {p.Label} {p.Score:R}");
            }
            """;
        var app = feed.NewApp("PredictApp", Project(("OnnxTransfer.Inference", feed.Version), ("Microsoft.ML.OnnxRuntime", OrtVersion)), program);
        var trimmed = Path.Combine(app, "trimmed");
        var log = PackageFeed.Run("dotnet", ["publish", app, "-c", "Release", "-r", "linux-x64", "--self-contained", "-p:PublishTrimmed=true", "-o", trimmed, "-nologo"], app);
        var warnings = log.Split('\n').Where(l => l.Contains("warning IL", StringComparison.Ordinal)).Distinct().ToArray();
        output.WriteLine($"trim warnings ({warnings.Length}):\n{string.Join('\n', warnings)}");
        var full = Path.Combine(app, "untrimmed");
        PackageFeed.Run("dotnet", ["publish", app, "-c", "Release", "-r", "linux-x64", "--self-contained", "-o", full, "-nologo", "-v", "quiet"], app);
        var dependent = Path.Combine(app, "framework-dependent");
        PackageFeed.Run("dotnet", ["publish", app, "-c", "Release", "-r", "linux-x64", "--no-self-contained", "-o", dependent, "-nologo", "-v", "quiet"], app);
        output.WriteLine($"linux-x64 publish: self-contained trimmed {PackageFeed.SizeMb(trimmed):F1} MB, self-contained untrimmed {PackageFeed.SizeMb(full):F1} MB, " +
                         $"framework-dependent {PackageFeed.SizeMb(dependent):F1} MB; largest files of the trimmed one:");
        foreach (var f in new DirectoryInfo(trimmed).EnumerateFiles("*", SearchOption.AllDirectories).OrderByDescending(f => f.Length).Take(8))
            output.WriteLine($"  {f.Length / 1e6,6:F1} MB  {Path.GetRelativePath(trimmed, f.FullName)}");
        // Our assemblies trim cleanly (warnings from third-party packages are printed above).
        Assert.DoesNotContain(warnings, w => w.Contains("OnnxTransfer", StringComparison.Ordinal));
        // The Inference package's build targets keep ONNX Runtime's Windows DLLs out of a Linux publish.
        Assert.False(File.Exists(Path.Combine(trimmed, "onnxruntime.dll")), "onnxruntime.dll (Windows) in a linux-x64 publish");

        var stdout = PackageFeed.Run(Path.Combine(trimmed, "PredictApp"), [fx.FloatModelPath, .. fx.TestImages], app);
        using var model = TransferModel.Load(fx.FloatModelPath);
        var lines = stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(fx.TestImages.Length, lines.Length);
        for (var i = 0; i < lines.Length; i++)
        {
            var expected = model.Predict(fx.TestImages[i]);
            var parts = lines[i].Split(' ');
            Assert.Equal(Path.GetFileName(fx.TestImages[i]), parts[0]);
            Assert.Equal(expected.Label, parts[1]);
            Assert.Equal(expected.Score, float.Parse(parts[2], System.Globalization.CultureInfo.InvariantCulture), 1e-5f);
        }
    }

    [Fact]
    public async Task The_aspnet_sample_runs_on_the_packages()
    {
        var source = Path.Combine(SharedAssets.RepoRoot, "samples", "WebApi");
        var app = Directory.CreateDirectory(Path.Combine(feed.AppsRoot, "WebApi")).FullName;
        foreach (var file in new[] { "Program.cs", "appsettings.json" })
            File.Copy(Path.Combine(source, file), Path.Combine(app, file), overwrite: true);
        var project = XDocument.Load(Path.Combine(source, "WebApi.csproj"));
        var items = project.Root!.Elements("ItemGroup").ToArray();
        Assert.Single(project.Root.Descendants("ProjectReference"), r => r.Attribute("Include")!.Value.Contains("OnnxTransfer.Hosting"));
        foreach (var reference in project.Root.Descendants("ProjectReference").ToArray()) reference.Remove();
        foreach (var reference in project.Root.Descendants("PackageReference"))
            reference.SetAttributeValue("Version", reference.Attribute("Version")!.Value.Replace("$(OnnxRuntimeVersion)", OrtVersion));
        project.Root.Add(new XElement("PropertyGroup", new XElement("TargetFramework", "net10.0"), new XElement("Nullable", "enable"), new XElement("ImplicitUsings", "enable")));
        project.Root.Add(new XElement("ItemGroup", new XElement("PackageReference", new XAttribute("Include", "OnnxTransfer.Hosting"), new XAttribute("Version", feed.Version))));
        var csproj = Path.Combine(app, "WebApi.csproj");
        project.Save(csproj);
        await WebApiSampleTests.ServesAsync(csproj, fx, output);
    }

    [Fact]
    public void The_cli_installs_as_a_dotnet_tool_and_runs_doctor()
    {
        using var dir = new TempDir();
        var tools = dir.File("tools");
        var log = PackageFeed.Run("dotnet", ["tool", "install", "--tool-path", tools, "--add-source", feed.Folder, "onnxtransfer", "--version", feed.Version], dir.Path);
        output.WriteLine(log);
        var stdout = PackageFeed.Run(Path.Combine(tools, "onnxtransfer"), ["doctor"], dir.Path, environment: ModelEnvironment(dir));
        output.WriteLine(stdout);
        Assert.Contains($"OnnxTransfer {feed.Version}", stdout);
        Assert.Contains("usable     CPUExecutionProvider", stdout);
        // Precompiled (ReadyToRun): otherwise every command JIT-compiles its code before the first image.
        foreach (var name in new[] { "OnnxTransfer.Cli.dll", "OnnxTransfer.dll" })
        {
            var assembly = Directory.EnumerateFiles(Path.Combine(tools, ".store"), name, SearchOption.AllDirectories).Single();
            Assert.True(IsReadyToRun(assembly), $"{assembly} is IL only; the tool package must be published with ReadyToRun.");
        }
        // The package is linux-x64 (PackageFeed): ONNX Runtime's Windows DLLs would be dead weight in it.
        Assert.Empty(Directory.EnumerateFiles(Path.Combine(tools, ".store"), "onnxruntime*.dll", SearchOption.AllDirectories));
    }

    private static bool IsReadyToRun(string assembly)
    {
        using var pe = new System.Reflection.PortableExecutable.PEReader(File.OpenRead(assembly));
        return pe.PEHeaders.CorHeader?.ManagedNativeHeaderDirectory.Size > 0;
    }

    private IReadOnlyList<string> Dependencies(string id)
    {
        var nuspec = feed.Nuspec(id);
        return nuspec.Descendants(nuspec.Name.Namespace + "dependency").Select(d => d.Attribute("id")!.Value).Distinct().Order(StringComparer.Ordinal).ToArray();
    }

    private static string Project(params (string Id, string Version)[] packages) => $"""
        <Project Sdk="Microsoft.NET.Sdk">
          <PropertyGroup>
            <OutputType>Exe</OutputType>
            <TargetFramework>net10.0</TargetFramework>
            <ImplicitUsings>enable</ImplicitUsings>
            <Nullable>enable</Nullable>
          </PropertyGroup>
          <ItemGroup>
        {string.Concat(packages.Select(p => $"    <PackageReference Include=\"{p.Id}\" Version=\"{p.Version}\" />\n"))}  </ItemGroup>
        </Project>
        """;

    private static Dictionary<string, string> ModelEnvironment(TempDir dir) => new()
    {
        ["ONNXTRANSFER_MIRROR"] = SharedAssets.Models,
        ["ONNXTRANSFER_HOME"] = dir.File("cache"),
        ["ONNXTRANSFER_OFFLINE"] = "1",
    };
}
