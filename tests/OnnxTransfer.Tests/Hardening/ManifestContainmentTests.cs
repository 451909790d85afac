using OnnxTransfer.Data;
using static OnnxTransfer.Tests.Hardening.HostileInputs;

namespace OnnxTransfer.Tests.Hardening;

/// <summary>
/// CSV manifests and dataset folders: items that resolve outside the dataset's folder are refused unless
/// <see cref="DatasetLoadOptions.AllowOutsidePaths"/>; items that are not regular files are refused up front.
/// </summary>
public class ManifestContainmentTests
{
    /// <summary>Lays out root/data (the dataset) beside root/data2 and root/outside, each with a .png.</summary>
    private static (string Data, string Outside) Layout(TempDir dir)
    {
        var data = Directory.CreateDirectory(dir.File("data")).FullName;
        Directory.CreateDirectory(Path.Combine(data, "cats"));
        File.WriteAllBytes(Path.Combine(data, "cats", "in.png"), [1]);
        Directory.CreateDirectory(dir.File("data2"));
        File.WriteAllBytes(dir.File("data2/x.png"), [2]);
        var outside = Directory.CreateDirectory(dir.File("outside")).FullName;
        File.WriteAllBytes(Path.Combine(outside, "secret.png"), [3]);
        return (data, outside);
    }

    [Theory]
    [InlineData("path with ..", "../outside/secret.png")]
    [InlineData("absolute path", "ABSOLUTE")]
    [InlineData("sibling folder sharing the name prefix", "../data2/x.png")]
    [InlineData("symlinked file pointing outside", "cats/link.png")]
    [InlineData("file under a symlinked folder pointing outside", "linked/secret.png")]
    [InlineData(".. hidden after a subfolder", "cats/../../outside/secret.png")]
    public void Csv_items_outside_the_manifest_folder_are_refused_unless_allowed(string kind, string item)
    {
        _ = kind;
        using var dir = new TempDir();
        var (data, outside) = Layout(dir);
        File.CreateSymbolicLink(Path.Combine(data, "cats", "link.png"), Path.Combine(outside, "secret.png"));
        Directory.CreateSymbolicLink(Path.Combine(data, "linked"), outside);
        var csv = Path.Combine(data, "manifest.csv");
        var path = item == "ABSOLUTE" ? Path.Combine(outside, "secret.png") : item;
        File.WriteAllText(csv, $"path,label\ncats/in.png,cat\n{path},dog\n");

        var message = Refused(() => DatasetLoader.Load(csv));
        Assert.Contains("manifest.csv line 3", message);
        Assert.Contains("--allow-outside-paths", message);

        var allowed = DatasetLoader.Load(csv, new DatasetLoadOptions { AllowOutsidePaths = true });
        Assert.Equal(2, allowed.Items.Count);
    }

    [Theory]
    [InlineData("symlinked file in a class folder")]
    [InlineData("symlinked class folder")]
    [InlineData("symlinked split folder")]
    public void Folder_items_reached_through_symlinks_to_outside_are_refused_unless_allowed(string kind)
    {
        using var dir = new TempDir();
        var (data, outside) = Layout(dir);
        switch (kind)
        {
            case "symlinked file in a class folder":
                File.CreateSymbolicLink(Path.Combine(data, "cats", "link.png"), Path.Combine(outside, "secret.png"));
                break;
            case "symlinked class folder":
                Directory.CreateSymbolicLink(Path.Combine(data, "dogs"), outside);
                break;
            case "symlinked split folder":
                Directory.Move(Path.Combine(data, "cats"), Path.Combine(data, "train_cats"));
                Directory.CreateDirectory(Path.Combine(data, "train"));
                Directory.Move(Path.Combine(data, "train_cats"), Path.Combine(data, "train", "cats"));
                var val = Directory.CreateDirectory(dir.File("elsewhere/val/cats")).FullName;
                File.WriteAllBytes(Path.Combine(val, "v.png"), [4]);
                Directory.CreateSymbolicLink(Path.Combine(data, "val"), dir.File("elsewhere/val"));
                break;
        }

        var message = Refused(() => DatasetLoader.Load(data));
        Assert.Contains("outside the dataset folder", message);
        Assert.Contains("--allow-outside-paths", message);

        var allowed = DatasetLoader.Load(data, new DatasetLoadOptions { AllowOutsidePaths = true });
        Assert.Equal(2, allowed.Items.Count);
    }

    [Fact]
    public void Symlinks_that_stay_inside_the_folder_are_fine()
    {
        using var dir = new TempDir();
        var (data, _) = Layout(dir);
        Directory.CreateDirectory(Path.Combine(data, "dogs"));
        File.CreateSymbolicLink(Path.Combine(data, "dogs", "alias.png"), Path.Combine(data, "cats", "in.png"));
        var csv = Path.Combine(data, "m.csv");

        Assert.Equal(2, DatasetLoader.Load(data).Items.Count);
        File.WriteAllText(csv, "path,label\ncats/in.png,cat\ndogs/alias.png,dog\n");
        Assert.Equal(2, DatasetLoader.Load(csv).Items.Count);
    }

    [Theory]
    [InlineData("FIFO named .png in a manifest", true, "fifo")]
    [InlineData("FIFO named .png in a class folder", false, "fifo")]
    [InlineData("folder named .png in a manifest", true, "folder")]
    [InlineData("character device named .png in a manifest", true, "device")]
    public void Items_that_are_not_regular_files_are_refused_up_front(string kind, bool manifest, string what)
    {
        _ = kind;
        using var dir = new TempDir();
        var (data, _) = Layout(dir);
        var item = Path.Combine(data, "cats", "odd.png");
        switch (what)
        {
            case "fifo": Fifo(item); break;
            case "folder": Directory.CreateDirectory(item); break;
            case "device": File.CreateSymbolicLink(item, "/dev/null"); break;
        }
        var csv = Path.Combine(data, "m.csv");
        File.WriteAllText(csv, "path,label\ncats/in.png,cat\ncats/odd.png,cat\n");

        var message = Refused(() => DatasetLoader.Load(manifest ? csv : data,
            new DatasetLoadOptions { AllowOutsidePaths = what == "device" }), fifoToRelease: what == "fifo" ? item : null);

        Assert.Contains("odd.png", message);
    }

    [Fact]
    public void Evaluate_passes_allow_outside_paths_to_the_loader()
    {
        using var dir = new TempDir();
        var (data, _) = Layout(dir);
        File.WriteAllText(Path.Combine(data, "m.csv"), "path,label\ncats/in.png,cat\n../outside/secret.png,dog\n");
        var model = dir.File("model.onnx");
        Classifier().Save(model);

        var (code, _, error) = RunCli("evaluate", "--model", model, "--data", Path.Combine(data, "m.csv"));
        Assert.Equal(1, code);
        Assert.Contains("--allow-outside-paths", error);

        // Allowed, the loader gets past the outside path: the next complaint is about the labels, not the path.
        var (_, _, allowedError) = RunCli("evaluate", "--model", model, "--data", Path.Combine(data, "m.csv"), "--allow-outside-paths");
        Assert.DoesNotContain("leaves the manifest's folder", allowedError ?? "");
    }
}
