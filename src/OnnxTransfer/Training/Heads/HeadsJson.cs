using System.Text.Json.Serialization;

namespace OnnxTransfer.Training.Heads;

/// <summary>Generated JSON metadata (trim- and AOT-safe) for head.json and the class list in head models' metadata.</summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower)]
[JsonSerializable(typeof(HeadInfo))]
[JsonSerializable(typeof(TrainingOptions))]
[JsonSerializable(typeof(string[]))]
internal sealed partial class HeadsJson : JsonSerializerContext;
