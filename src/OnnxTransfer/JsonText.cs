using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization.Metadata;

namespace OnnxTransfer;

/// <summary>
/// The one JSON style of every file and output the toolkit writes: snake_case names (set on each folder's
/// source-generated context), indented, with '+', quotes and non-ASCII text left readable. Reading accepts the
/// camelCase and PascalCase names older versions wrote.
/// </summary>
internal static class JsonText
{
    private static readonly JsonWriterOptions Indented = new() { Indented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };
    private static readonly JsonWriterOptions Compact = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary><paramref name="value"/> as JSON text through its generated <paramref name="info"/>.</summary>
    public static string Write<T>(T value, JsonTypeInfo<T> info, bool indented = true)
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer, indented ? Indented : Compact))
            JsonSerializer.Serialize(writer, value, info);
        return Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length);
    }

    /// <summary>
    /// Reads <paramref name="json"/> as <typeparamref name="T"/>; a property spelled the old way (<c>featureDim</c>,
    /// <c>FeatureDim</c>) is read as its snake_case name (<c>feature_dim</c>). Dictionary keys are data and stay as written.
    /// </summary>
    /// <exception cref="JsonException">Not valid JSON, or not of that shape.</exception>
    public static T? Read<T>(string json, JsonTypeInfo<T> info)
    {
        var documentOptions = new JsonDocumentOptions
        {
            AllowTrailingCommas = info.Options.AllowTrailingCommas,
            CommentHandling = info.Options.ReadCommentHandling,
            MaxDepth = info.Options.MaxDepth,
        };
        var node = JsonNode.Parse(json, documentOptions: documentOptions);
        // Current files go straight to the deserializer, so its errors keep their line numbers.
        return node is not null && HasLegacyNames(node, info) ? node.Deserialize(info) : JsonSerializer.Deserialize(json, info);
    }

    // An object with a repeated key cannot be walked as a JsonObject; the deserializer reads it as usual (the last one wins).
    private static bool HasLegacyNames(JsonNode node, JsonTypeInfo info)
    {
        try { return RenameLegacy(node, info); }
        catch (ArgumentException) { return false; }
    }

    // Renames old-style keys in place, following the type's generated metadata; true when any was renamed.
    private static bool RenameLegacy(JsonNode node, JsonTypeInfo info)
    {
        var renamed = false;
        switch (info.Kind)
        {
            case JsonTypeInfoKind.Object when node is JsonObject obj:
                // As the deserializer matches: "Epochs" is not "epochs" unless the context ignores case.
                var names = info.Properties.ToDictionary(p => p.Name,
                    info.Options.PropertyNameCaseInsensitive ? StringComparer.OrdinalIgnoreCase : StringComparer.Ordinal);
                foreach (var key in obj.Select(p => p.Key).ToArray())
                {
                    if (names.ContainsKey(key)) continue;
                    var snake = JsonNamingPolicy.SnakeCaseLower.ConvertName(key);
                    if (!names.ContainsKey(snake) || obj.ContainsKey(snake)) continue;
                    var value = obj[key];
                    obj.Remove(key);
                    obj[snake] = value;
                    renamed = true;
                }
                foreach (var (key, value) in obj.ToArray())
                    if (value is not null && names.TryGetValue(key, out var property))
                        renamed |= RenameLegacy(value, Info(info, property.PropertyType));
                break;
            case JsonTypeInfoKind.Enumerable when node is JsonArray array:
                var element = Info(info, info.ElementType!);
                foreach (var item in array)
                    if (item is not null) renamed |= RenameLegacy(item, element);
                break;
            case JsonTypeInfoKind.Dictionary when node is JsonObject map:
                var entry = Info(info, info.ElementType!);
                foreach (var (_, value) in map.ToArray())
                    if (value is not null) renamed |= RenameLegacy(value, entry);
                break;
        }
        return renamed;
    }

    private static JsonTypeInfo Info(JsonTypeInfo parent, Type type) =>
        parent.Options.GetTypeInfo(Nullable.GetUnderlyingType(type) ?? type);
}
