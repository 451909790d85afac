using System.Text.Json.Serialization;

namespace OnnxTransfer.Features;

/// <summary>Generated JSON metadata (trim- and AOT-safe) for the metadata file of an unfinished feature store.</summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower)]
[JsonSerializable(typeof(Dictionary<string, string>))]
internal sealed partial class FeaturesJson : JsonSerializerContext;
