using System.Text.Json.Serialization;

namespace OnnxTransfer.Diagnostics;

/// <summary>Generated JSON metadata (trim- and AOT-safe) for <c>doctor --json</c>.</summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower)]
[JsonSerializable(typeof(DoctorReport))]
internal sealed partial class DiagnosticsJson : JsonSerializerContext;
