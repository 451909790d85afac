using System.IO.Compression;
using System.Security.Cryptography;
using System.Text;
using OnnxTransfer.Backbones;

namespace OnnxTransfer.Tests.Backbones;

/// <summary>The NuGet registry channel: the global packages folder, a local feed through NuGet's client, checksums, offline.</summary>
public class NuGetChannelTests
{
    private const string Id = "Some.Model.Package";
    private const string Version = "1.2.3";
    private const string Inside = "tools/Models/Net/net.onnx";
    private static readonly byte[] Content = Encoding.UTF8.GetBytes("pretend onnx bytes of a packaged model");

    private static BackboneManifest Manifest(string? sha256 = null) => new(
        "packaged", BackboneKind.Image, "a model shipped in a NuGet package", "MIT",
        [new BackboneFile("net.onnx", sha256 ?? Convert.ToHexStringLower(SHA256.HashData(Content)), Content.Length, [])],
        new BackboneInput("x", "nchw", [-1, 3, 8, 8]), "auto", 4,
        Preprocessing: "resize=8,crop=8x8", NuGet: new NuGetSource(Id, Version, new Dictionary<string, string> { ["net.onnx"] = Inside }));

    /// <summary>A nuget.config in <paramref name="dir"/> that lists only <paramref name="feed"/> (or no source at all).</summary>
    private static string Config(TempDir dir, string? feed)
    {
        var root = Directory.CreateDirectory(dir.File("project")).FullName;
        var add = feed is null ? "" : $"<add key=\"local\" value=\"{feed}\" />";
        File.WriteAllText(Path.Combine(root, "nuget.config"),
            $"<?xml version=\"1.0\" encoding=\"utf-8\"?><configuration><packageSources><clear />{add}</packageSources></configuration>");
        return root;
    }

    private static void FillGlobalPackages(string global, byte[] content)
    {
        var file = Path.Combine(global, Id.ToLowerInvariant(), Version, Inside);
        Directory.CreateDirectory(Path.GetDirectoryName(file)!);
        File.WriteAllBytes(file, content);
    }

    /// <summary>A minimal .nupkg (zip with the nuspec and the model) in a folder feed.</summary>
    private static string Feed(TempDir dir)
    {
        var feed = Directory.CreateDirectory(dir.File("feed")).FullName;
        using var zip = ZipFile.Open(Path.Combine(feed, $"{Id.ToLowerInvariant()}.{Version}.nupkg"), ZipArchiveMode.Create);
        using (var w = new StreamWriter(zip.CreateEntry($"{Id}.nuspec").Open()))
            w.Write($"<?xml version=\"1.0\"?><package xmlns=\"http://schemas.microsoft.com/packaging/2013/05/nuspec.xsd\"><metadata><id>{Id}</id><version>{Version}</version><authors>x</authors><description>x</description></metadata></package>");
        using (var s = zip.CreateEntry(Inside).Open()) s.Write(Content);
        return feed;
    }

    private static BackboneRegistry Registry(TempDir dir, BackboneManifest manifest, bool network, string? feed = null) =>
        new([manifest], new BackboneLocations(dir.File("cache"), [], AllowNetwork: network,
            NuGetConfigRoot: Config(dir, feed), NuGetGlobalPackages: Directory.CreateDirectory(dir.File("global")).FullName));

    [Fact]
    public async Task A_prefilled_global_packages_folder_works_with_no_network()
    {
        using var dir = new TempDir();
        FillGlobalPackages(dir.File("global"), Content);

        var resolved = await Registry(dir, Manifest(), network: false).ResolveAsync("packaged");

        Assert.Equal(Content, File.ReadAllBytes(resolved.ModelPath));
        Assert.StartsWith(dir.File("cache"), resolved.ModelPath);
        Assert.Contains($"nuget {Id} {Version} in", resolved.Files[0].Source);
    }

    [Fact]
    public async Task A_file_whose_sha256_differs_is_refused()
    {
        using var dir = new TempDir();
        FillGlobalPackages(dir.File("global"), Encoding.UTF8.GetBytes("pretend onnx bytes of another model!!!"));

        var e = await Assert.ThrowsAsync<OnnxTransferException>(() => Registry(dir, Manifest(), network: false).ResolveAsync("packaged"));

        Assert.Contains("sha256 mismatch", e.Message);
        Assert.False(File.Exists(Path.Combine(dir.File("cache"), "models", "packaged", "net.onnx")));
    }

    [Fact]
    public async Task The_nupkg_comes_from_a_configured_source_when_the_global_folder_lacks_it()
    {
        using var dir = new TempDir();
        var feed = Feed(dir);

        var resolved = await Registry(dir, Manifest(), network: true, feed).ResolveAsync("packaged");

        Assert.Equal(Content, File.ReadAllBytes(resolved.ModelPath));
        Assert.Contains($"from {feed}", resolved.Files[0].Source);
    }

    [Fact]
    public async Task A_source_serving_other_bytes_is_refused()
    {
        using var dir = new TempDir();
        var feed = Feed(dir);
        var manifest = Manifest(sha256: new string('0', 64));

        var e = await Assert.ThrowsAsync<OnnxTransferException>(() => Registry(dir, manifest, network: true, feed).ResolveAsync("packaged"));

        Assert.Contains("sha256 mismatch", e.Message);
    }

    [Fact]
    public async Task Offline_with_no_package_is_one_line_naming_the_package_and_the_fix()
    {
        using var dir = new TempDir();

        var e = await Assert.ThrowsAsync<OnnxTransferException>(() => Registry(dir, Manifest(), network: false).ResolveAsync("packaged"));

        Assert.DoesNotContain('\n', e.Message);
        Assert.Contains($"nuget {Id} {Version}", e.Message);
        Assert.Contains("network disabled", e.Message);
        Assert.Contains(BackboneLocations.MirrorVariable, e.Message);
    }

    [Fact]
    public async Task No_configured_source_says_how_to_add_one()
    {
        using var dir = new TempDir();

        var e = await Assert.ThrowsAsync<OnnxTransferException>(() => Registry(dir, Manifest(), network: true, feed: null).ResolveAsync("packaged"));

        Assert.Contains("no NuGet package source is configured", e.Message);
        Assert.DoesNotContain('\n', e.Message);
    }

    [Fact]
    public void A_manifest_path_for_an_unlisted_file_is_rejected()
    {
        var json = Manifest().ToJson().Replace("\"net.onnx\": \"tools", "\"other.onnx\": \"tools");
        var e = Assert.Throws<OnnxTransferException>(() => BackboneManifest.Parse(json, "m.json"));
        Assert.Contains("'nuget.paths' names 'other.onnx'", e.Message);
    }

    [Fact]
    public void The_resnet18_manifest_names_its_package_and_a_prepared_model()
    {
        var manifest = BackboneRegistry.BuiltInManifests.Single(m => m.Name == "resnet18");
        Assert.Equal("Microsoft.ML.DnnImageFeaturizer.ResNet18", manifest.NuGet!.Package);
        Assert.All(manifest.Files, f => Assert.True(manifest.NuGet.Paths.ContainsKey(f.Name)));
        Assert.Equal("ResNetPreprocess.onnx", manifest.Prepare!.Prefix);
        Assert.Equal("MIT", manifest.Licence);
    }
}
