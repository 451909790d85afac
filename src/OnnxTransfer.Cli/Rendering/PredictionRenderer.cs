using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using OnnxTransfer.Export;
using OnnxTransfer.Inference;
using OnnxTransfer.Onnx;
using Spectre.Console;

namespace OnnxTransfer.Cli.Rendering;

/// <summary>Prints predictions: one JSON object per line (scripts) or a table (people); and what `export` wrote.</summary>
internal static class PredictionRenderer
{
    /// <summary>
    /// <c>{"file":...,"label":...,"score":...,"top":[{"label":...,"score":...},...]}</c>, or
    /// <c>{"file":...,"error":...}</c> for a file that failed.
    /// </summary>
    public static void WriteJsonLine(TextWriter output, FilePrediction result, int top)
    {
        var line = new JsonObject { ["file"] = result.Path };
        if (result.Prediction is { } p)
        {
            line["label"] = p.Label;
            line["score"] = Round(p.Score);
            line["top"] = new JsonArray(p.Top(top).Select(s => (JsonNode?)new JsonObject { ["label"] = s.Label, ["score"] = Round(s.Probability) }).ToArray());
        }
        else
        {
            line["error"] = result.Error;
        }
        output.WriteLine(JsonText.Write(line, CliJson.Default.JsonObject, indented: false));
    }

    /// <summary>A table of every result (errors in red), then a count line.</summary>
    public static void WriteTable(TextWriter output, IReadOnlyList<FilePrediction> results, int top)
    {
        var console = WriterConsole.Create(output);
        var table = new Table().Border(TableBorder.Rounded).AddColumns("file", "label", "score");
        if (top > 1) table.AddColumn($"top {top}");
        foreach (var r in results)
        {
            if (r.Prediction is { } p)
            {
                var cells = new List<string> { Markup.Escape(r.Path), $"[bold]{Markup.Escape(p.Label)}[/]", Percent(p.Score) };
                if (top > 1) cells.Add(Markup.Escape(string.Join(", ", p.Top(top).Select(s => $"{s.Label} {Percent(s.Probability)}"))));
                table.AddRow(cells.ToArray());
            }
            else
            {
                // The file column already names the file.
                var reason = r.Error is { } e && e.StartsWith(r.Path + ": ", StringComparison.Ordinal) ? e[(r.Path.Length + 2)..] : r.Error ?? "";
                var cells = new List<string> { Markup.Escape(r.Path), "[red]error[/]", $"[red]{Markup.Escape(reason)}[/]" };
                if (top > 1) cells.Add("");
                table.AddRow(cells.ToArray());
            }
        }
        console.Write(table);
        var failed = results.Count(r => !r.Succeeded);
        console.MarkupLine($"{results.Count - failed} labelled" + (failed > 0 ? $", [red]{failed} failed[/]" : ""));
    }

    /// <summary>What an export wrote: file, interface, labels, provenance. Plain lines (no wrapping): hashes and paths get copied.</summary>
    public static void WriteExport(TextWriter output, OnnxModel model, string path)
    {
        var meta = ModelMetadata.Read(model);
        var inputs = model.Graph.Input.Where(i => model.Graph.Initializer.All(t => t.Name != i.Name)).Select(TensorInfo.FromValueInfo);
        var outputs = model.Graph.Output.Select(TensorInfo.FromValueInfo);
        output.WriteLine($"wrote {path} ({(new FileInfo(path).Length / 1e6).ToString("F1", CultureInfo.InvariantCulture)} MB, one self-contained file)");
        output.WriteLine($"  input    {string.Join(", ", inputs.Select(t => $"{t.Name} {t}"))} ({meta.InputKind})");
        output.WriteLine($"  outputs  {string.Join(", ", outputs.Select(t => $"{t.Name} {t}"))}");
        output.WriteLine($"  labels   {string.Join(", ", meta.Labels)}");
        output.WriteLine($"  backbone {meta.Backbone} at {meta.FeatureTensor}, sha256 {meta.BackboneSha256}");
        output.WriteLine($"  head     {meta.Head} ({meta.Task})");
        if (meta.InputKind == ModelInputKind.SpeechEmbeddings)
            output.WriteLine($"  front end {meta.FrontEnd} (run before the graph on 16 kHz audio; TransferModel and `predict` do it for WAV files)");
        else
            output.WriteLine($"  preprocessing {meta.Preprocessing}" +
                             (meta.InputKind == ModelInputKind.ImageBytes ? " (normalisation is in the graph: feed resized, cropped RGB bytes)" : ""));
    }

    private static double Round(float v) => Math.Round(v, 6);

    private static string Percent(float p) => (p * 100).ToString("0.0", CultureInfo.InvariantCulture) + "%";
}
