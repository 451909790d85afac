using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using OnnxTransfer.Backbones;
using OnnxTransfer.Onnx;
using Spectre.Console;

namespace OnnxTransfer.Cli.Rendering;

/// <summary>Prints model summaries, feature candidates and cut results as tables (people) or JSON (scripts).</summary>
internal static class InspectionRenderer
{
    /// <summary>Tables and a few lines for people.</summary>
    public static void WriteTables(TextWriter output, ModelSummary summary, IReadOnlyList<FeatureCandidate> candidates)
    {
        var console = WriterConsole.Create(output);
        console.MarkupLine($"[bold]{Markup.Escape(summary.Name)}[/]  IR {summary.IrVersion}, opsets {Markup.Escape(Opsets(summary))}" +
                           (summary.Producer.Length > 0 ? $", made by {Markup.Escape(summary.Producer)}" : ""));
        console.MarkupLine($"{summary.NodeCount} nodes, {summary.InitializerCount} initializers, {Count(summary.ParameterCount)} parameters, " +
                           (summary.IsQuantized ? $"[yellow]quantized[/] ({Markup.Escape(string.Join(", ", summary.QuantizedOps))})" : "float (not quantized)"));

        var io = new Table().Border(TableBorder.Rounded).AddColumns("", "name", "type", "shape");
        foreach (var i in summary.Inputs) io.AddRow("input", Markup.Escape(i.Name), i.ElementTypeName, Markup.Escape(i.ShapeText));
        foreach (var o in summary.Outputs) io.AddRow("output", Markup.Escape(o.Name), o.ElementTypeName, Markup.Escape(o.ShapeText));
        console.Write(io);

        var ops = new Table().Border(TableBorder.Rounded).AddColumns("operator", "nodes");
        foreach (var (op, n) in summary.OpHistogram) ops.AddRow(Markup.Escape(op), n.ToString(CultureInfo.InvariantCulture));
        console.Write(ops);

        if (candidates.Count == 0)
        {
            console.MarkupLine("[yellow]no feature tensor candidates found[/]; name one with `cut --at TENSOR`.");
            return;
        }
        var table = new Table().Border(TableBorder.Rounded).Title("feature tensor candidates (1 = --at auto)")
            .AddColumns("#", "tensor", "type", "shape", "D", "pool", "quantized", "why");
        for (var k = 0; k < candidates.Count; k++)
        {
            var c = candidates[k];
            table.AddRow(
                (k + 1).ToString(CultureInfo.InvariantCulture),
                k == 0 ? $"[bold]{Markup.Escape(c.Tensor)}[/]" : Markup.Escape(c.Tensor),
                c.Info.ElementTypeName,
                Markup.Escape(c.Info.ShapeText),
                c.Dimension?.ToString(CultureInfo.InvariantCulture) ?? "?",
                c.Pool == FeaturePool.Avg ? "avg" : "none",
                c.Quantization is not null ? "yes" : c.IsQuantized ? "[red]scale unknown[/]" : "-",
                Markup.Escape(c.Reason));
        }
        console.Write(table);
    }

    /// <summary>One JSON document on <paramref name="output"/>; candidates ranked, the first is the auto choice.</summary>
    public static void WriteJson(TextWriter output, OnnxModel model, ModelSummary summary, IReadOnlyList<FeatureCandidate> candidates)
    {
        var opsets = new JsonObject();
        foreach (var (domain, version) in summary.Opsets) opsets[domain.Length == 0 ? "ai.onnx" : domain] = version;
        var histogram = new JsonObject();
        foreach (var (op, n) in summary.OpHistogram) histogram[op] = n;
        var doc = new JsonObject
        {
            ["model"] = summary.Name,
            ["path"] = model.SourcePath,
            ["producer"] = summary.Producer,
            ["ir_version"] = summary.IrVersion,
            ["opsets"] = opsets,
            ["inputs"] = new JsonArray(summary.Inputs.Select(Tensor).ToArray<JsonNode?>()),
            ["outputs"] = new JsonArray(summary.Outputs.Select(Tensor).ToArray<JsonNode?>()),
            ["node_count"] = summary.NodeCount,
            ["initializer_count"] = summary.InitializerCount,
            ["parameter_count"] = summary.ParameterCount,
            ["quantized"] = summary.IsQuantized,
            ["quantized_ops"] = new JsonArray(summary.QuantizedOps.Select(o => (JsonNode?)o).ToArray()),
            ["ops"] = histogram,
            ["feature_candidates"] = new JsonArray(candidates.Select((c, k) => (JsonNode?)new JsonObject
            {
                ["rank"] = k + 1,
                ["tensor"] = c.Tensor,
                ["element_type"] = c.Info.ElementTypeName,
                ["shape"] = TensorEntry.ShapeOf(c.Info),
                ["dimension"] = c.Dimension,
                ["pool"] = c.Pool == FeaturePool.Avg ? "avg" : "none",
                ["quantized"] = c.IsQuantized,
                ["scale"] = c.Quantization?.Scale,
                ["zero_point"] = c.Quantization?.ZeroPoint,
                ["reason"] = c.Reason,
            }).ToArray()),
        };
        output.WriteLine(JsonText.Write(doc, CliJson.Default.JsonObject));
    }

    /// <summary>What a cut picked and what it wrote.</summary>
    public static void WriteCut(TextWriter output, CutPlan plan, OnnxModel cut, string path)
    {
        var console = WriterConsole.Create(output);
        var features = TensorInfo.FromValueInfo(cut.Graph.Output[0]);
        var steps = new List<string>();
        if (plan.Dequantize is { } q) steps.Add($"dequantized with {q.Scale}/{q.ZeroPoint}");
        if (plan.Pool == FeaturePool.Avg) steps.Add("global average pooled");
        if (plan.Source.Rank > 2) steps.Add("flattened");
        console.MarkupLine($"cut at [bold]{Markup.Escape(plan.Tensor)}[/] ({Markup.Escape(plan.Source.ToString())}): {Markup.Escape(plan.Reason)}");
        if (steps.Count > 0) console.MarkupLine($"  {Markup.Escape(string.Join(", ", steps))}");
        console.MarkupLine($"wrote [bold]{Markup.Escape(path)}[/]: output '{features.Name}' {Markup.Escape(features.ToString())}, " +
                           $"{cut.Graph.Node.Count} nodes, {Count(cut.Graph.Initializer.Sum(t => OnnxTensor.ElementCount(t.Dims)))} parameters");
    }

    private static JsonNode Tensor(TensorInfo t) => new JsonObject
    {
        ["name"] = t.Name,
        ["element_type"] = t.ElementTypeName,
        ["shape"] = TensorEntry.ShapeOf(t),
    };

    private static string Opsets(ModelSummary s) =>
        string.Join(", ", s.Opsets.Select(kv => $"{(kv.Key.Length == 0 ? "ai.onnx" : kv.Key)} {kv.Value}"));

    private static string Count(long n) => n switch
    {
        >= 1_000_000 => (n / 1e6).ToString("0.##", CultureInfo.InvariantCulture) + "M",
        >= 10_000 => (n / 1e3).ToString("0.#", CultureInfo.InvariantCulture) + "k",
        _ => n.ToString(CultureInfo.InvariantCulture),
    };
}
