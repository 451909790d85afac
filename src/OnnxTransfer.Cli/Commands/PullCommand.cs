using System.CommandLine;
using OnnxTransfer.Backbones;
using OnnxTransfer.Cli.Rendering;

namespace OnnxTransfer.Cli.Commands;

/// <summary><c>onnxtransfer pull NAME</c>: fetch a backbone into the local cache (cache, mirrors, then network).</summary>
internal static class PullCommand
{
    public static Command Create()
    {
        var name = new Argument<string>("name") { Description = "Backbone name (see `onnxtransfer backbones`)." };
        var offline = new Option<bool>("--offline") { Description = "Never download: use the cache and mirror folders only." };
        var command = new Command("pull", "Fetch a backbone into the local cache (cache -> ONNXTRANSFER_MIRROR folders -> download), checking SHA-256.")
        {
            name, offline,
        };
        command.SetAction(async (parseResult, ct) =>
        {
            var registry = BackboneRegistry.Default;
            if (parseResult.GetValue(offline))
                registry = new BackboneRegistry(registry.Manifests, registry.Locations with { AllowNetwork = false });
            var manifest = registry.Get(parseResult.GetValue(name)!);
            var resolved = await ProgressRenderer.RunAsync($"pull {manifest.Name}",
                progress => registry.ResolveAsync(manifest, progress, ct));

            // Plain lines (no wrapping): paths get copied and grepped.
            Console.WriteLine($"{manifest.Name}: {manifest.Description}");
            foreach (var file in resolved.Files)
                Console.WriteLine($"  {file.File} from {file.Source}\n    -> {file.Path}");
            if (resolved.PreparedModel is { } prepared)
                Console.WriteLine($"  prepared model (what extract, fit and export run)\n    -> {prepared}");
            Console.WriteLine($"licence: {manifest.Licence}");
            return 0;
        });
        return command;
    }
}
