using OnnxTransfer.Onnx;
using System.Text.Json;

namespace OnnxTransfer.Export;

/// <summary>What an exported model's input expects.</summary>
public enum ModelInputKind
{
    /// <summary>Float pixels, already resized, cropped and normalised per <see cref="ModelMetadata.Preprocessing"/>.</summary>
    ImageTensor,
    /// <summary>Raw uint8 RGB HWC pixels at the crop size (preprocessing embedded in the graph).</summary>
    ImageBytes,
    /// <summary>A window of speech embeddings from the named audio front end.</summary>
    SpeechEmbeddings,
    /// <summary>A feature vector (a head exported alone).</summary>
    Features,
}

/// <summary>
/// The facts an exported model carries in its ONNX <c>metadata_props</c>, so one file is enough to use it:
/// labels, preprocessing, provenance, head and metrics. Keys are prefixed <c>onnxtransfer.</c>.
/// </summary>
public sealed record ModelMetadata
{
    private const string Prefix = "onnxtransfer.";

    /// <summary>Output of an exported classifier: float [N,C] class probabilities.</summary>
    public const string ProbabilitiesOutput = "probabilities";
    /// <summary>Output of an exported classifier: int64 [N] index of the most probable class.</summary>
    public const string LabelOutput = "label";
    /// <summary>Output of an exported wake-word model: [N,1] probability of the wake word.</summary>
    public const string WakeWordScoreOutput = "score";
    /// <summary>Metadata key of a wake-word model holding the wake word's name.</summary>
    public const string WakeWordKey = Prefix + "wake_word";
    /// <summary>Metadata key of a wake-word model holding its calibrated threshold (invariant-culture number).</summary>
    public const string WakeWordThresholdKey = Prefix + "wake_word.threshold";

    /// <summary>Class labels in output order.</summary>
    public required string[] Labels { get; init; }

    /// <summary>What the input is.</summary>
    public required ModelInputKind InputKind { get; init; }

    /// <summary>Image preprocessing text (see <see cref="Imaging.ImagePreprocessing"/>), or null for audio.</summary>
    public string? Preprocessing { get; init; }

    /// <summary>Audio front end description (e.g. "openwakeword"), or null for images.</summary>
    public string? FrontEnd { get; init; }

    /// <summary>Backbone name (or file name) and its sha256.</summary>
    public string? Backbone { get; init; }

    /// <summary>sha256 of the backbone file.</summary>
    public string? BackboneSha256 { get; init; }

    /// <summary>The backbone tensor the features were taken from.</summary>
    public string? FeatureTensor { get; init; }

    /// <summary>Head spec text (see Training.Heads.HeadSpec).</summary>
    public string? Head { get; init; }

    /// <summary>Task: binary, multiclass or multilabel.</summary>
    public string? Task { get; init; }

    /// <summary>Validation metrics as JSON.</summary>
    public string? MetricsJson { get; init; }

    /// <summary>The toolkit version that wrote the model.</summary>
    public string ToolVersion { get; init; } = ToolInfo.Version;

    /// <summary>The metadata_props entries (prefixed keys) of every non-null field.</summary>
    public IEnumerable<KeyValuePair<string, string>> Properties()
    {
        foreach (var (key, value) in Entries())
            if (value is not null) yield return new(Prefix + key, value);
    }

    /// <summary>Reads from a metadata dictionary (e.g. InferenceSession.ModelMetadata.CustomMetadataMap).</summary>
    public static ModelMetadata Read(IReadOnlyDictionary<string, string> map, string modelName)
    {
        string? Get(string key) => map.TryGetValue(Prefix + key, out var v) ? v : null;
        var labelsJson = Get("labels")
            ?? throw new OnnxFormatException($"{modelName}: no '{Prefix}labels' metadata; it was not exported by OnnxTransfer (use `onnxtransfer export`).");
        return new ModelMetadata
        {
            Labels = ReadLabels(labelsJson, modelName),
            InputKind = ReadInputKind(Get("input_kind"), modelName),
            Preprocessing = Get("preprocessing"),
            FrontEnd = Get("front_end"),
            Backbone = Get("backbone"),
            BackboneSha256 = Get("backbone_sha256"),
            FeatureTensor = Get("feature_tensor"),
            Head = Get("head"),
            Task = Get("task"),
            MetricsJson = Get("metrics"),
            ToolVersion = Get("tool_version") ?? "unknown",
        };
    }

    // A non-empty JSON array of non-empty strings; anything else ([null], numbers, an object) is a damaged or foreign file.
    // Read and written with JsonDocument and Utf8JsonWriter, which need no reflection, so a trimmed or AOT app can load models.
    private static string[] ReadLabels(string json, string modelName)
    {
        var labels = ParseStrings(json);
        if (labels is not { Length: > 0 } || labels.Any(string.IsNullOrWhiteSpace))
            throw new OnnxFormatException($"{modelName}: the '{Prefix}labels' metadata is not a non-empty JSON array of non-empty strings; re-export the model with `onnxtransfer export`.");
        return labels;
    }

    private static string[]? ParseStrings(string json)
    {
        try
        {
            using var doc = JsonDocument.Parse(json);
            if (doc.RootElement.ValueKind != JsonValueKind.Array) return null;
            var items = doc.RootElement.EnumerateArray().ToArray();
            return items.All(e => e.ValueKind == JsonValueKind.String) ? items.Select(e => e.GetString()!).ToArray() : null;
        }
        catch (JsonException) { return null; }
    }

    private static string WriteStrings(IEnumerable<string> values)
    {
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            w.WriteStartArray();
            foreach (var v in values) w.WriteStringValue(v);
            w.WriteEndArray();
        }
        return System.Text.Encoding.UTF8.GetString(buffer.ToArray());
    }

    // Absent: older exports, which were all float image models. Present but unknown: written by another tool or a newer version.
    private static ModelInputKind ReadInputKind(string? text, string modelName)
    {
        if (text is null) return ModelInputKind.ImageTensor;
        if (!text.All(char.IsAsciiLetter) || !Enum.TryParse<ModelInputKind>(text, true, out var kind))
            throw new OnnxFormatException($"{modelName}: unknown '{Prefix}input_kind' '{text}' (known: {string.Join(", ", Enum.GetNames<ModelInputKind>())}); re-export the model, or update OnnxTransfer if a newer version wrote it.");
        return kind;
    }

    private IEnumerable<(string Key, string? Value)> Entries()
    {
        yield return ("labels", WriteStrings(Labels));
        yield return ("input_kind", InputKind.ToString());
        yield return ("preprocessing", Preprocessing);
        yield return ("front_end", FrontEnd);
        yield return ("backbone", Backbone);
        yield return ("backbone_sha256", BackboneSha256);
        yield return ("feature_tensor", FeatureTensor);
        yield return ("head", Head);
        yield return ("task", Task);
        yield return ("metrics", MetricsJson);
        yield return ("tool_version", ToolVersion);
    }
}
