using OnnxTransfer.Data;

namespace OnnxTransfer.Cli.Rendering;

/// <summary>Prints what a dataset scan found (to stderr, so stdout stays for results).</summary>
internal static class DatasetRenderer
{
    /// <summary>One line of counts per split, then the scan's warnings.</summary>
    public static void Summarize(Dataset dataset)
    {
        var scan = dataset.Scan;
        Console.Error.WriteLine($"dataset {dataset.Root} ({dataset.Layout}): {scan.Items} items" +
            (scan.IgnoredHidden + scan.IgnoredExtension > 0 ? $", ignored {scan.IgnoredHidden} hidden and {scan.IgnoredExtension} other files" : ""));
        foreach (var (split, counts) in scan.ClassCounts)
            Console.Error.WriteLine($"  {(split.Length == 0 ? "(no split)" : split)}: " + string.Join(", ", counts.Select(kv => $"{kv.Key} {kv.Value}")));
        foreach (var w in scan.Warnings) Console.Error.WriteLine($"warning: {w}");
    }
}
