using OnnxTransfer.Data;

namespace OnnxTransfer.Cli.Rendering;

/// <summary>Prints what a dataset scan found (to stderr, so stdout stays for results; nothing with --quiet).</summary>
internal static class DatasetRenderer
{
    /// <summary>One line of counts per split, then the scan's warnings.</summary>
    public static void Summarize(Dataset dataset)
    {
        var scan = dataset.Scan;
        CliConsole.Note($"dataset {dataset.Root} ({dataset.Layout}): {scan.Items} items" +
            (scan.IgnoredHidden + scan.IgnoredExtension > 0 ? $", ignored {scan.IgnoredHidden} hidden and {scan.IgnoredExtension} other files" : ""));
        foreach (var (split, counts) in scan.ClassCounts)
            CliConsole.Note($"  {(split.Length == 0 ? "(no split)" : split)}: " + string.Join(", ", counts.Select(kv => $"{kv.Key} {kv.Value}")));
        foreach (var w in scan.Warnings) CliConsole.Warning(w);
    }
}
