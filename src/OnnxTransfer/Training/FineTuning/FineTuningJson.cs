using System.Text.Json.Serialization;

namespace OnnxTransfer.Training.FineTuning;

/// <summary>Generated JSON metadata (trim- and AOT-safe) for fine-tuning options (checkpoint fingerprints, curve settings).</summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower)]
[JsonSerializable(typeof(FineTuneOptions))]
internal sealed partial class FineTuningJson : JsonSerializerContext;
