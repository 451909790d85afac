using System.CommandLine;
using OnnxTransfer.Cli.Rendering;
using OnnxTransfer.Features;

namespace OnnxTransfer.Cli.Commands;

/// <summary>`onnxtransfer merge PARTS... --out FILE.parquet`: combines the part files of a sharded extraction.</summary>
internal static class MergeCommand
{
    /// <summary>Builds the command.</summary>
    public static Command Create()
    {
        var parts = new Argument<string[]>("parts")
        {
            Description = "The part files of every shard (out.part-0-of-N.parquet ... out.part-(N-1)-of-N.parquet).",
            Arity = ArgumentArity.OneOrMore,
        };
        var output = new Option<string>("--out", "-o") { Description = "The merged feature store to write.", Required = true };
        var command = new Command("merge", "Merge the feature-store parts of a sharded extraction (--shard i/N) into one file, checking none is missing or doubled.")
        {
            parts,
            output,
        };
        command.SetAction(async (pr, ct) =>
        {
            var files = pr.GetValue(parts)!;
            var outPath = pr.GetValue(output)!;
            var summary = await ProgressRenderer.RunAsync("merge", progress => FeatureStore.MergeAsync(files, outPath, progress, ct));
            Console.WriteLine($"merged {summary.Parts} parts, {summary.Rows} rows -> {summary.Output}");
            return 0;
        });
        return command;
    }
}
