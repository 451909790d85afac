using System.Text.Json.Serialization;

namespace OnnxTransfer.Comparison;

/// <summary>Generated JSON metadata (trim- and AOT-safe) for compare.json and `compare --json`.</summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower)]
[JsonSerializable(typeof(ComparisonResult))]
internal sealed partial class ComparisonJson : JsonSerializerContext;
