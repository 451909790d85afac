using System.Text.Json;
using System.Text.Json.Serialization;

namespace OnnxTransfer.Backbones;

/// <summary>
/// Generated JSON metadata (trim- and AOT-safe) for backbone manifests (models/*.json): hand-written, so comments,
/// trailing commas and any letter case are accepted, while a missing required field or a null in a non-nullable one is an error.
/// </summary>
[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    PropertyNameCaseInsensitive = true,
    ReadCommentHandling = JsonCommentHandling.Skip,
    AllowTrailingCommas = true,
    RespectRequiredConstructorParameters = true,
    RespectNullableAnnotations = true,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(BackboneManifest))]
internal sealed partial class BackbonesJson : JsonSerializerContext;
