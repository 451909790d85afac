using OnnxTransfer.Data;
using static OnnxTransfer.Tests.Hardening.OutputSafetyKit;

namespace OnnxTransfer.Tests.Hardening;

/// <summary>CSV manifests with a split that is no split, or with the header row missing.</summary>
public class CsvManifestTests
{
    private static string Manifest(TempDir dir, string text)
    {
        foreach (var name in new[] { "a.jpg", "b.jpg", "c.jpg", "d.jpg" }) File.WriteAllBytes(dir.File(name), [0xFF, 0xD8]);
        var csv = dir.File("data.csv");
        File.WriteAllText(csv, text);
        return csv;
    }

    public static TheoryData<string, string, int, string> UnknownSplits() => new()
    {
        { "holdout without header", "a.jpg,cat,train\nb.jpg,dog,train\nc.jpg,cat,holdout\n", 3, "'holdout'" },
        { "dev with a named header", "file,class,split\na.jpg,cat,train\nb.jpg,dog,dev\n", 3, "'dev'" },
        { "typo in the first row", "a.jpg,cat,trian\nb.jpg,dog,train\n", 1, "'trian'" },
    };

    [Theory]
    [MemberData(nameof(UnknownSplits))]
    public void Unknown_split_is_an_error_naming_file_line_and_accepted_values(string kind, string text, int line, string value)
    {
        using var dir = new TempDir();
        var csv = Manifest(dir, text);
        var e = Assert.Throws<OnnxTransferException>(() => DatasetLoader.Load(csv));
        AssertOneLine(e, csv, $"line {line}", value, "train, val, test");
        Assert.False(string.IsNullOrEmpty(kind));
    }

    [Fact]
    public void Empty_split_means_no_split_and_is_kept()
    {
        using var dir = new TempDir();
        var dataset = DatasetLoader.Load(Manifest(dir, "path,label,split\na.jpg,cat,\nb.jpg,dog,Validation\n"));
        Assert.Equal(["", "val"], dataset.Items.Select(i => i.Split));
    }

    [Fact]
    public void Missing_header_first_row_with_an_existing_file_is_data()
    {
        using var dir = new TempDir();
        var dataset = DatasetLoader.Load(Manifest(dir, "a.jpg,cat\nb.jpg,dog\n"));
        Assert.Equal(["a.jpg", "b.jpg"], dataset.Items.Select(i => i.Id));
    }

    [Fact]
    public void Missing_header_first_row_naming_a_missing_file_is_reported_on_line_1()
    {
        using var dir = new TempDir();
        var csv = Manifest(dir, "photos/x.jpg,cat\nb.jpg,dog\n");
        var e = Assert.Throws<OnnxTransferException>(() => DatasetLoader.Load(csv));
        AssertOneLine(e, csv, "line 1", "photos/x.jpg");
    }

    [Fact]
    public void Missing_header_first_row_without_extension_but_with_a_split_is_data_not_a_header()
    {
        using var dir = new TempDir();
        var dataset = DatasetLoader.Load(Manifest(dir, "img001,cat,train\nb.jpg,dog,train\n"));
        // Before: taken for a header (columns path,label,split) and not counted. Now it is a data row, skipped
        // and counted for having no image extension.
        Assert.Equal(1, dataset.Scan.IgnoredExtension);
        Assert.Equal(["b.jpg"], dataset.Items.Select(i => i.Id));
    }

    [Fact]
    public void Missing_header_first_row_with_an_unlisted_extension_is_data_not_a_header()
    {
        using var dir = new TempDir();
        File.WriteAllBytes(dir.File("e.tiff"), [1]);
        var dataset = DatasetLoader.Load(Manifest(dir, "e.tiff,cat\nb.jpg,dog\n"));
        Assert.Equal(["b.jpg"], dataset.Items.Select(i => i.Id));
        Assert.Equal(1, dataset.Scan.IgnoredExtension); // counted as a skipped file, not swallowed as a header
    }

    [Fact]
    public void Header_with_unfamiliar_column_names_is_still_a_header()
    {
        using var dir = new TempDir();
        var dataset = DatasetLoader.Load(Manifest(dir, "img,species\na.jpg,cat\nb.jpg,dog\n"));
        Assert.Equal(["cat", "dog"], dataset.Items.Select(i => i.Label));
    }
}
