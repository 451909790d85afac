using OnnxTransfer.Data;

namespace OnnxTransfer.Tests.Data;

public class DatasetLoaderTests
{
    private static void Touch(TempDir dir, params string[] files)
    {
        foreach (var f in files)
        {
            var path = dir.File(f);
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            File.WriteAllText(path, "x");
        }
    }

    [Fact]
    public void Class_folders_are_scanned_with_hidden_and_foreign_files_counted()
    {
        using var dir = new TempDir();
        Touch(dir, "dogs/b.PNG", "cats/a.jpg", "cats/nested/deep.webp", "cats/.hidden.jpg", "cats/notes.txt",
            "dogs/.cache/x.jpg", ".DS_Store", "stray.jpg", "readme.md");
        Directory.CreateDirectory(dir.File("birds"));
        var ds = DatasetLoader.Load(dir.Path);
        Assert.Equal(DatasetLayout.ClassFolders, ds.Layout);
        Assert.Equal(["cats/a.jpg", "cats/nested/deep.webp", "dogs/b.PNG"], ds.Items.Select(i => i.Id));
        Assert.Equal(["cats", "cats", "dogs"], ds.Items.Select(i => i.Label));
        Assert.All(ds.Items, i => Assert.Equal("", i.Split));
        Assert.All(ds.Items, i => Assert.Equal(Path.Combine(dir.Path, i.Id), i.Path));
        Assert.Equal(3, ds.Scan.Items);
        Assert.Equal(3, ds.Scan.IgnoredHidden);      // cats/.hidden.jpg, dogs/.cache, .DS_Store
        Assert.Equal(2, ds.Scan.IgnoredExtension);   // cats/notes.txt, readme.md
        Assert.Equal(1, ds.Scan.IgnoredStray);       // stray.jpg
        Assert.Equal(2, ds.Scan.ClassCounts[""]["cats"]);
        Assert.Equal(1, ds.Scan.ClassCounts[""]["dogs"]);
        Assert.Contains(ds.Scan.Warnings, w => w.Contains("'birds'") && w.Contains("no"));
        Assert.Equal(["cats", "dogs"], ds.Labels);
    }

    [Fact]
    public void Split_folders_are_detected_case_insensitively_with_aliases()
    {
        using var dir = new TempDir();
        Touch(dir, "Train/ants/1.jpg", "Train/ants/2.jpg", "Train/bees/3.jpg", "VALID/ants/4.jpg", "test/bees/5.jpg", "test/ants/6.jpg");
        var ds = DatasetLoader.Load(dir.Path);
        Assert.Equal(DatasetLayout.SplitFolders, ds.Layout);
        Assert.Equal(["test", "train", "val"], ds.Splits);
        Assert.Equal(["Train/ants/1.jpg", "Train/ants/2.jpg", "Train/bees/3.jpg", "VALID/ants/4.jpg", "test/ants/6.jpg", "test/bees/5.jpg"], ds.Items.Select(i => i.Id));
        Assert.Equal("val", ds.Items.Single(i => i.Id == "VALID/ants/4.jpg").Split);
        Assert.Equal(2, ds.Scan.ClassCounts["train"]["ants"]);
        Assert.Equal(1, ds.Scan.ClassCounts["val"]["ants"]);
        Assert.Contains("label 'bees' is in train but not in val", ds.Scan.Warnings);
        Assert.Equal(3, ds.InSplit("training").Items.Count);
        Assert.Single(ds.InSplit("Validation").Items);
    }

    [Fact]
    public void Mixing_split_and_class_folders_is_an_error()
    {
        using var dir = new TempDir();
        Touch(dir, "train/a/1.jpg", "cats/2.jpg");
        var e = Assert.Throws<OnnxTransferException>(() => DatasetLoader.Load(dir.Path));
        Assert.Contains("train", e.Message);
        Assert.Contains("cats", e.Message);
    }

    [Fact]
    public void Empty_dataset_names_the_folder_and_the_layouts()
    {
        using var dir = new TempDir();
        Touch(dir, "cats/readme.txt", "dogs/.hidden.jpg");
        var e = Assert.Throws<OnnxTransferException>(() => DatasetLoader.Load(dir.Path));
        Assert.Contains(dir.Path, e.Message);
        Assert.Contains("<label>", e.Message);
        Assert.Contains("train", e.Message);
        Assert.Contains("CSV", e.Message);
        Assert.DoesNotContain('\n', e.Message);
        var missing = Assert.Throws<OnnxTransferException>(() => DatasetLoader.Load(dir.File("nope")));
        Assert.Contains("not found", missing.Message);
    }

    [Fact]
    public void Accepted_extensions_are_configurable()
    {
        using var dir = new TempDir();
        Touch(dir, "yes/1.wav", "no/2.WAV", "no/3.jpg");
        var ds = DatasetLoader.Load(dir.Path, new DatasetLoadOptions { Extensions = DatasetLoadOptions.AudioExtensions });
        Assert.Equal(["no/2.WAV", "yes/1.wav"], ds.Items.Select(i => i.Id));
        Assert.Equal(1, ds.Scan.IgnoredExtension);
    }

    [Fact]
    public void Loose_files_load_unlabeled()
    {
        using var dir = new TempDir();
        Touch(dir, "b.jpg", "a.png", "c.txt");
        var ds = DatasetLoader.Load(dir.Path);
        Assert.Equal(DatasetLayout.Unlabeled, ds.Layout);
        Assert.Equal(["a.png", "b.jpg"], ds.Items.Select(i => i.Id));
        Assert.All(ds.Items, i => Assert.Equal("", i.Label));
    }

    [Fact]
    public void Csv_manifest_with_header_quotes_and_splits()
    {
        using var dir = new TempDir();
        Touch(dir, "img/a 1.jpg", "img/b,2.png", "img/c.jpg", "img/d.gif", "img/notes.txt", "img/.e.jpg");
        File.WriteAllLines(dir.File("labels.csv"),
        [
            "path,label,split",
            "img/c.jpg,cat,Validation",
            "\"img/a 1.jpg\", cat ,train",
            "\"img/b,2.png\",\"big \"\"dog\"\"\",TRAIN",
            "",
            "./img/d.gif,dog",
            "img/notes.txt,dog,train",
            "img/.e.jpg,dog,train",
        ]);
        foreach (var ds in new[] { DatasetLoader.Load(dir.File("labels.csv")), DatasetLoader.Load(dir.Path) })
        {
            Assert.Equal(DatasetLayout.CsvManifest, ds.Layout);
            Assert.Equal(["img/a 1.jpg", "img/b,2.png", "img/c.jpg", "img/d.gif"], ds.Items.Select(i => i.Id));
            Assert.Equal(["cat", "big \"dog\"", "cat", "dog"], ds.Items.Select(i => i.Label));
            Assert.Equal(["train", "train", "val", ""], ds.Items.Select(i => i.Split));
            Assert.Equal(dir.File("img/a 1.jpg"), ds.Items[0].Path);
            Assert.Equal(1, ds.Scan.IgnoredExtension);
            Assert.Equal(1, ds.Scan.IgnoredHidden);
        }
    }

    [Fact]
    public void Unrelated_csv_beside_split_folders_does_not_hide_them()
    {
        using var dir = new TempDir();
        Touch(dir, "train/a/1.jpg", "val/a/2.jpg", ".git/config");
        File.WriteAllLines(dir.File("sample_submission.csv"), ["id,prediction", "17,0"]);
        var ds = DatasetLoader.Load(dir.Path);
        Assert.Equal(DatasetLayout.SplitFolders, ds.Layout);
        Assert.Equal(2, ds.Items.Count);
        Assert.Equal(1, ds.Scan.IgnoredHidden);
        Assert.Equal(1, ds.Scan.IgnoredExtension);
        // A manifest beside an image folder is taken.
        File.WriteAllLines(dir.File("sample_submission.csv"), ["train/a/1.jpg,x"]);
        Assert.Equal(DatasetLayout.CsvManifest, DatasetLoader.Load(dir.Path).Layout);
    }

    [Fact]
    public void Csv_without_header_and_with_reordered_columns()
    {
        using var dir = new TempDir();
        Touch(dir, "x.jpg", "y.jpg");
        File.WriteAllLines(dir.File("plain.csv"), ["y.jpg,b", "x.jpg,a"]);
        Assert.Equal(["a", "b"], DatasetLoader.Load(dir.File("plain.csv")).Items.Select(i => i.Label));
        File.WriteAllLines(dir.File("named.csv"), ["class,filename", "a,x.jpg", "b,y.jpg"]);
        Assert.Equal(["x.jpg", "y.jpg"], DatasetLoader.Load(dir.File("named.csv")).Items.Select(i => i.Id));
    }

    [Theory]
    [InlineData("../outside.jpg,a", "line 3", "leaves")]
    [InlineData("/etc/passwd.jpg,a", "line 3", "leaves")]
    [InlineData("sub/../../outside.jpg,a", "line 3", "leaves")]
    [InlineData("missing.jpg,a", "line 3", "not found")]
    [InlineData("ok.jpg,a", "line 3", "already listed on line 2")]
    [InlineData("ok.jpg", "line 3", "expected at least 2 fields")]
    [InlineData("\"ok.jpg,a", "line 3", "unterminated")]
    public void Csv_errors_name_the_line(string row, string line, string what)
    {
        using var dir = new TempDir();
        Directory.CreateDirectory(dir.File("data"));
        File.WriteAllText(dir.File("outside.jpg"), "x");
        File.WriteAllText(dir.File("data/ok.jpg"), "x");
        File.WriteAllLines(dir.File("data/m.csv"), ["path,label", "ok.jpg,a", row]);
        var e = Assert.Throws<OnnxTransferException>(() => DatasetLoader.Load(dir.File("data/m.csv")));
        Assert.Contains("m.csv " + line, e.Message);
        Assert.Contains(what, e.Message);
        Assert.DoesNotContain('\n', e.Message);
    }

    [Fact]
    public void Take_per_class_is_stratified_and_deterministic()
    {
        using var dir = new TempDir();
        for (var i = 0; i < 30; i++) Touch(dir, $"train/a/{i:D2}.jpg", $"train/b/{i:D2}.jpg");
        for (var i = 0; i < 3; i++) Touch(dir, $"val/a/{i}.jpg");
        var ds = DatasetLoader.Load(dir.Path);
        var one = ds.TakePerClass(5, seed: 7);
        var again = DatasetLoader.Load(dir.Path).TakePerClass(5, seed: 7);
        var other = ds.TakePerClass(5, seed: 8);
        Assert.Equal(one.Items, again.Items);
        Assert.NotEqual(one.Items.Select(i => i.Id), other.Items.Select(i => i.Id));
        Assert.Equal(5, one.Scan.ClassCounts["train"]["a"]);
        Assert.Equal(5, one.Scan.ClassCounts["train"]["b"]);
        Assert.Equal(3, one.Scan.ClassCounts["val"]["a"]);
        Assert.Equal(one.Items.OrderBy(i => i.Id, StringComparer.Ordinal), one.Items);
        Assert.All(one.Items, i => Assert.Contains(i, ds.Items));
        // Not simply the first five of each class.
        Assert.NotEqual(["train/a/00.jpg", "train/a/01.jpg", "train/a/02.jpg", "train/a/03.jpg", "train/a/04.jpg"],
            one.Items.Where(i => i.Label == "a" && i.Split == "train").Select(i => i.Id));
        // Stable under additions: a new file can displace at most one kept item per class.
        Touch(dir, "train/a/new.jpg");
        var grown = DatasetLoader.Load(dir.Path).TakePerClass(5, seed: 7);
        Assert.True(one.Items.Intersect(grown.Items).Count() >= one.Items.Count - 1);
        Assert.Throws<OnnxTransferException>(() => ds.TakePerClass(0));
    }

    [Fact]
    public void Hymenoptera_loads_with_its_splits_labels_gif_and_spaced_name()
    {
        var ds = DatasetLoader.Load(SharedAssets.Dataset("hymenoptera"));
        Assert.Equal(DatasetLayout.SplitFolders, ds.Layout);
        // Per its README: train 124 ants / 121 bees, val 70 / 83.
        Assert.Equal(398, ds.Items.Count);
        Assert.Equal(124, ds.Scan.ClassCounts["train"]["ants"]);
        Assert.Equal(121, ds.Scan.ClassCounts["train"]["bees"]);
        Assert.Equal(70, ds.Scan.ClassCounts["val"]["ants"]);
        Assert.Equal(83, ds.Scan.ClassCounts["val"]["bees"]);
        Assert.Equal(["train", "val"], ds.Splits);
        Assert.Equal(["ants", "bees"], ds.Labels);
        Assert.Contains(ds.Items, i => i.Id == "train/ants/imageNotFound.gif");
        Assert.Contains(ds.Items, i => i.Id == "train/ants/ant photos.jpg");
        Assert.Empty(ds.Scan.Warnings);
        Assert.Equal(ds.Items.Select(i => i.Id).Order(StringComparer.Ordinal), ds.Items.Select(i => i.Id));
    }
}
