using System.CommandLine;
using OnnxTransfer.Backbones;
using Spectre.Console;

namespace OnnxTransfer.Cli.Commands;

/// <summary><c>onnxtransfer backbones</c>: the known backbones and whether each is cached.</summary>
internal static class BackbonesCommand
{
    public static Command Create()
    {
        var command = new Command("backbones", "List the known backbones, their feature size, licence and cache state.");
        command.SetAction(_ =>
        {
            var registry = BackboneRegistry.Default;
            var table = new Table().Border(TableBorder.Rounded)
                .AddColumns("name", "kind", "features", "size", "licence", "cached");
            foreach (var state in registry.CacheStates())
            {
                var m = state.Manifest;
                var feature = $"{m.FeatureDim} ({(m.HasAutoFeatureTensor ? "auto" : m.FeatureTensor)})";
                var size = $"{m.Files.Sum(f => f.Size) / 1e6:F1} MB";
                table.AddRow(Markup.Escape(m.Name), m.Kind.ToString().ToLowerInvariant(), Markup.Escape(feature), size,
                    Markup.Escape(m.Licence.Split(" (")[0]), state.Cached ? "[green]yes[/]" : "[grey]no[/]");
            }
            AnsiConsole.Write(table);
            AnsiConsole.MarkupLine($"[grey]cache: {Markup.Escape(registry.Locations.CacheDir)}; mirrors: " +
                $"{Markup.Escape(registry.Locations.Mirrors.Count == 0 ? "none (ONNXTRANSFER_MIRROR)" : string.Join(':', registry.Locations.Mirrors))}[/]");
            return 0;
        });
        return command;
    }
}
