using OnnxTransfer.Diagnostics;
using System.CommandLine;
using OnnxTransfer.Backbones;
using OnnxTransfer.Runtime;
using Spectre.Console;

namespace OnnxTransfer.Cli.Commands;

/// <summary><c>onnxtransfer doctor [--json]</c>: ONNX Runtime version, usable providers, CUDA libraries, cache.</summary>
internal static class DoctorCommand
{
    public static Command Create()
    {
        var json = new Option<bool>("--json") { Description = "Print the report as JSON." };
        var command = new Command("doctor", "Check ONNX Runtime, execution providers (CPU/CUDA), CUDA libraries and the backbone cache.") { json };
        command.SetAction(parseResult =>
        {
            var report = Doctor.Run(BackboneRegistry.Default);
            if (parseResult.GetValue(json))
            {
                JsonOutput.Write(parseResult, report.ToJson());
                return 0;
            }
            var c = AnsiConsole.Console;
            c.MarkupLine($"[bold]{Markup.Escape(report.Tool)}[/] on {Markup.Escape(report.Os)} ({report.Architecture}, {report.ProcessorCount} cores)");
            c.MarkupLine($"ONNX Runtime {Markup.Escape(report.OnnxRuntimeVersion)} loaded (built against {Markup.Escape(report.OnnxRuntimePackage)} {Markup.Escape(report.OnnxRuntimeBuildVersion)})");
            if (report.OnnxRuntimeVersion != report.OnnxRuntimeBuildVersion)
                c.MarkupLine($"  [yellow]warning[/]: the loaded native library is not the pinned version; another libonnxruntime.so was found first");
            c.MarkupLine($"providers compiled in: {Markup.Escape(string.Join(", ", report.CompiledProviders))}");
            foreach (var p in report.Providers)
                c.MarkupLine($"  {(p.Usable ? "[green]usable[/]    " : "[red]not usable[/]")} {Markup.Escape(p.Name)}{(p.Usable ? "" : $" [grey]({Markup.Escape(p.Detail)})[/]")}");
            c.MarkupLine(report.CudaUsable ? "CUDA: [green]usable[/]" : $"CUDA: [red]not usable[/] — {Markup.Escape(report.CudaReason)}");
            if (report.CudaLibraries.Count > 0)
                c.MarkupLine($"NVIDIA libraries the CUDA provider needs{(report.CudaMajor is { } major ? $" (built for CUDA {major})" : "")}:");
            foreach (var lib in report.CudaLibraries)
                c.MarkupLine($"  {Markup.Escape(lib.Library),-20} {(lib.Found ? $"[green]found[/] {Markup.Escape(lib.Path ?? lib.LoadedAs ?? "")}" : $"[red]not found[/]: {Markup.Escape(lib.Fix)}")}");
            c.MarkupLine($"cache: {Markup.Escape(report.CacheDir)}");
            c.MarkupLine($"mirrors: {Markup.Escape(report.Mirrors.Count == 0 ? "none (set ONNXTRANSFER_MIRROR)" : string.Join(", ", report.Mirrors))}");
            c.MarkupLine($"network: {(report.NetworkAllowed ? "allowed" : "disabled")}; npm registry {Markup.Escape(report.NpmRegistry)}");
            foreach (var b in report.Backbones)
                c.MarkupLine($"  {Markup.Escape(b.Name),-22} {(b.Cached ? "[green]cached[/]" : "[grey]not cached[/]")}");
            return 0;
        });
        return command;
    }
}
