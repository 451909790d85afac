using System.Text.Json.Serialization;

namespace OnnxTransfer.Curves;

/// <summary>Generated JSON metadata (trim- and AOT-safe) for curve.json; NaN (the sd of one seed) is written as "NaN".</summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower, NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals)]
[JsonSerializable(typeof(CurveReport.CurveFile))]
internal sealed partial class CurvesJson : JsonSerializerContext;
