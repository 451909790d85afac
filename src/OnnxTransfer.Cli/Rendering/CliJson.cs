using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using OnnxTransfer.Benchmarks;

namespace OnnxTransfer.Cli.Rendering;

/// <summary>
/// Generated JSON metadata (trim- and AOT-safe) for every <c>--json</c> output the commands build (the library's own
/// files have theirs); NaN figures print as "NaN" rather than failing the output.
/// </summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower, NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals)]
[JsonSerializable(typeof(FitOutput))]
[JsonSerializable(typeof(TrainOutput))]
[JsonSerializable(typeof(ExportOutput))]
[JsonSerializable(typeof(DetectionLine))]
[JsonSerializable(typeof(JsonObject))]
[JsonSerializable(typeof(ExtractionBenchmarkResult))]
[JsonSerializable(typeof(ExtractionBenchmarkResult[]))]
[JsonSerializable(typeof(TrainingBenchmarkResult))]
[JsonSerializable(typeof(ResplitBenchmarkResult))]
[JsonSerializable(typeof(FineTuneBenchmarkResult))]
internal sealed partial class CliJson : JsonSerializerContext;
