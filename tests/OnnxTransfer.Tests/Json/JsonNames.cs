using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace OnnxTransfer.Tests.Json;

/// <summary>Checks that JSON uses the toolkit's one naming style, snake_case.</summary>
internal static class JsonNames
{
    private static readonly Regex Snake = new("^[a-z][a-z0-9]*(_[a-z0-9]+)*$", RegexOptions.CultureInvariant);

    /// <summary>True for <c>feature_dim</c>, <c>l2</c>; false for <c>featureDim</c>, <c>FeatureDim</c>, <c>feature-dim</c>.</summary>
    public static bool IsSnakeCase(string name) => Snake.IsMatch(name);

    /// <summary>
    /// Every property name in <paramref name="json"/> (a document, or one document per line) is snake_case, except the keys
    /// of objects held by the properties named in <paramref name="maps"/>: those are data (class names, file names, op types).
    /// </summary>
    public static void AssertSnakeCase(string json, params string[] maps)
    {
        var bad = new List<string>();
        var documents = json.TrimStart().StartsWith('{') && json.Contains("\n{", StringComparison.Ordinal)
            ? json.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            : [json];
        foreach (var doc in documents) Walk(JsonNode.Parse(doc), "$", isMap: false, maps, bad);
        Assert.True(bad.Count == 0, "not snake_case: " + string.Join(", ", bad));
    }

    private static void Walk(JsonNode? node, string path, bool isMap, string[] maps, List<string> bad)
    {
        switch (node)
        {
            case JsonObject obj:
                foreach (var (key, value) in obj)
                {
                    if (!isMap && !IsSnakeCase(key)) bad.Add($"{path}.{key}");
                    Walk(value, $"{path}.{key}", !isMap && maps.Contains(key), maps, bad);
                }
                break;
            case JsonArray array:
                for (var i = 0; i < array.Count; i++) Walk(array[i], $"{path}[{i}]", isMap: false, maps, bad);
                break;
        }
    }
}
