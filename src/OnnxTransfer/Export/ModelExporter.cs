using System.Text.Json;
using OnnxTransfer.Backbones;
using OnnxTransfer.Features;
using OnnxTransfer.Imaging;
using OnnxTransfer.Onnx;
using OnnxTransfer.Onnx.Proto;
using OnnxTransfer.Training.Heads;
using DataType = OnnxTransfer.Onnx.Proto.TensorProto.Types.DataType;

namespace OnnxTransfer.Export;

/// <summary>How <see cref="ModelExporter"/> builds the deployable model.</summary>
public sealed record ExportOptions
{
    /// <summary>
    /// Put the pixel normalisation into the graph (<see cref="PreprocessingGraph"/>): the model then takes uint8 RGB
    /// HWC [N,H,W,3] at the crop size (<see cref="ModelInputKind.ImageBytes"/>) and apps only resize and crop.
    /// The crop is rounded to whole grey levels, so results differ slightly from the float model fed unrounded
    /// pixels; 8-bit backbones amplify that (MobileNetV2-int8: probabilities moved by up to ~0.1 on hymenoptera photos).
    /// </summary>
    public bool EmbedPreprocessing { get; init; }

    /// <summary>Tensor to cut the backbone at; null takes the manifest's feature tensor (auto for a plain file), as extraction does.</summary>
    public string? CutAt { get; init; }

    /// <summary>Pooling at the cut; null lets the cutter choose, as extraction does.</summary>
    public FeaturePool? Pool { get; init; }

    /// <summary>
    /// Export even when the head's recorded feature source (head.json <c>feature_source</c>: the feature store, or
    /// <c>BACKBONE:TENSOR</c>) names another backbone file or tensor — e.g. a head trained on a float backbone
    /// deployed on its quantized twin. Off by default: same-sized features from another model give silent nonsense.
    /// </summary>
    public bool IgnoreFeatureSource { get; init; }
}

/// <summary>
/// Builds ONE self-contained ONNX model from a backbone and a trained head directory: the backbone is cut where
/// features were extracted, the head's eval graph is appended, and the outputs become <see cref="ProbabilitiesOutput"/>
/// float [N,C] and <see cref="LabelOutput"/> int64 [N] (ArgMax). Labels, preprocessing, provenance, head and
/// metrics go into the metadata (<see cref="ModelMetadata"/>), so the .onnx file is all an app needs.
/// </summary>
public static class ModelExporter
{
    /// <summary>Output: class probabilities [N,C] (binary heads: two columns; multi-label: independent sigmoids).</summary>
    public const string ProbabilitiesOutput = ModelMetadata.ProbabilitiesOutput;

    /// <summary>Output: index of the most probable class, int64 [N].</summary>
    public const string LabelOutput = ModelMetadata.LabelOutput;

    /// <summary>
    /// Resolves <paramref name="backboneNameOrPath"/> (a registry name, pulled if needed, or an .onnx file) and exports it
    /// with the head in <paramref name="headDir"/>.
    /// </summary>
    /// <exception cref="OnnxTransferException">Unknown backbone, a speech backbone, a head that does not fit the cut, or a bad head directory.</exception>
    public static async Task<OnnxModel> ExportAsync(string backboneNameOrPath, string headDir, ExportOptions? options = null,
        IProgress<ProgressUpdate>? progress = null, CancellationToken ct = default, BackboneRegistry? registry = null)
    {
        registry ??= BackboneRegistry.Default;
        // A speech model's graph needs none of the front end's files (they run before it), so nothing is pulled.
        if (registry.Find(backboneNameOrPath) is { Kind: BackboneKind.Speech } speech)
            return ExportSpeech(speech, headDir, options);
        var backbone = await registry.ResolveAsync(backboneNameOrPath, progress, ct).ConfigureAwait(false);
        return await ExportAsync(backbone, headDir, options, ct).ConfigureAwait(false);
    }

    /// <summary>
    /// Exports a resolved backbone with the head in <paramref name="headDir"/>. Asynchronous because it may read the
    /// metadata of the feature store the head was trained on, to check it came from this backbone.
    /// </summary>
    public static async Task<OnnxModel> ExportAsync(ResolvedBackbone backbone, string headDir, ExportOptions? options = null, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(backbone);
        ArgumentException.ThrowIfNullOrEmpty(headDir);
        options ??= new ExportOptions();
        if (backbone.Manifest is { Kind: BackboneKind.Speech } speech)
            return ExportSpeech(speech, headDir, options);
        var head = HeadInfo.Load(headDir);
        var eval = OnnxModel.Load(Path.Combine(headDir, Trainer.EvalGraphFile));
        var model = OnnxModel.Load(backbone.ModelPath);
        var plan = BackboneCutter.Plan(model, new CutOptions { At = options.CutAt ?? backbone.FeatureTensor, Pool = options.Pool });
        if (plan.Dimension != head.FeatureDimension)
            throw new OnnxTransferException(
                $"{headDir}: the head reads {head.FeatureDimension}-d features but backbone '{backbone.Name}' cut at '{plan.Tensor}' gives {plan.Dimension}-d; " +
                "export with the backbone (and --at/--pool) the features were extracted with.");
        var sha256 = backbone.ModelSha256;
        if (!options.IgnoreFeatureSource)
            await CheckFeatureSourceAsync(head, headDir, backbone.Name, sha256, plan.Tensor, ct).ConfigureAwait(false);
        var cut = BackboneCutter.Cut(model, plan);

        var metadata = new ModelMetadata
        {
            Labels = head.Classes,
            InputKind = options.EmbedPreprocessing ? ModelInputKind.ImageBytes : ModelInputKind.ImageTensor,
            Preprocessing = backbone.Preprocessing.ToString(),
            Backbone = backbone.Name,
            BackboneSha256 = sha256,
            FeatureTensor = plan.Tensor,
            Head = head.Spec,
            Task = head.Task.ToString().ToLowerInvariant(),
            MetricsJson = MetricsJson(headDir),
        };
        return Compose(cut, eval, metadata, options.EmbedPreprocessing ? backbone.Preprocessing : null, headDir);
    }

    /// <summary>
    /// Joins a cut backbone (single output <see cref="BackboneCutter.FeaturesOutput"/>) and a head eval graph (input
    /// <see cref="HeadGraphBuilder.Features"/>, output <see cref="HeadGraphBuilder.Probabilities"/>), adds the ArgMax
    /// label, optionally puts <paramref name="embed"/>'s normalisation in front, and writes <paramref name="metadata"/>.
    /// </summary>
    public static OnnxModel Compose(OnnxModel cutBackbone, OnnxModel headEval, ModelMetadata metadata, ImagePreprocessing? embed = null, string? headName = null)
    {
        var name = headName ?? headEval.DisplayName;
        if (headEval.Graph.Output.All(o => o.Name != HeadGraphBuilder.Probabilities))
            throw new OnnxFormatException($"{name}: the head graph has no '{HeadGraphBuilder.Probabilities}' output; it is not an OnnxTransfer eval graph — retrain the head.");
        var eval = headEval.Clone();
        if (eval.Graph.Input.Any(i => i.Name != HeadGraphBuilder.Features && eval.Graph.Initializer.All(t => t.Name != i.Name)))
            throw new OnnxFormatException($"{name}: the head graph takes inputs other than '{HeadGraphBuilder.Features}' (its parameters are not stored in it); retrain or re-save the head.");
        // Only the probabilities leave the head; logits would be a third, undocumented output.
        GraphEditor.SetOutputs(eval.Graph, eval.Graph.Output.First(o => o.Name == HeadGraphBuilder.Probabilities));
        GraphEditor.Prune(eval.Graph);

        var merged = ModelMerger.Merge(cutBackbone, BackboneCutter.FeaturesOutput, eval, HeadGraphBuilder.Features, "head/");
        if (embed is not null)
        {
            var input = RealInputs(merged.Graph).ToArray();
            if (input.Length != 1)
                throw new OnnxFormatException($"{cutBackbone.DisplayName}: --embed-preprocessing needs a backbone with one image input, found {input.Length} ({string.Join(", ", input.Select(i => i.Name))}).");
            CheckImageInput(cutBackbone, input[0], embed);
            var backboneBatch = BatchDim(input[0]);
            // No prefix: the backbone's tensor names stay as they are (only clashes get a suffix).
            merged = ModelMerger.Merge(PreprocessingGraph.Build(embed), PreprocessingGraph.OutputName, merged, input[0].Name);
            // A backbone with a fixed batch (e.g. [1,3,224,224]) fixes the byte input's batch too.
            if (backboneBatch.Value is { } fixedBatch)
            {
                var dim = merged.Graph.Input.First(i => i.Name == PreprocessingGraph.InputName).Type.TensorType.Shape.Dim[0];
                dim.DimValue = fixedBatch;
            }
        }

        var graph = merged.Graph;
        var g = new GraphBuilder(graph);
        if (GraphEditor.Contains(graph, LabelOutput))
            GraphEditor.RenameTensor(graph, LabelOutput, g.UniqueName(LabelOutput + "_source"));
        g.NodeWithOutputs("ArgMax", [ProbabilitiesOutput], [LabelOutput], "",
            OnnxAttribute.Int("axis", 1), OnnxAttribute.Int("keepdims", 0));

        // The outputs share the input's batch dimension (a fixed 1 stays 1, a symbol keeps its name).
        var batch = BatchDim(RealInputs(graph).First());
        var classes = metadata.Labels.Length;
        GraphEditor.SetOutputs(graph,
            GraphBuilder.ValueInfo(ProbabilitiesOutput, DataType.Float, [batch.Value, classes], [batch.Symbol, ""]),
            GraphBuilder.ValueInfo(LabelOutput, DataType.Int64, [batch.Value], [batch.Symbol]));
        GraphEditor.Prune(graph, keepInputs: true);

        graph.Name = "onnxtransfer_classifier";
        merged.Proto.ProducerName = "OnnxTransfer";
        merged.Proto.ProducerVersion = ToolInfo.Version;
        merged.Proto.DocString = $"{metadata.Backbone} + {metadata.Head} head: {string.Join(", ", metadata.Labels)}";
        metadata.WriteTo(merged);
        CheckSelfContained(merged);
        return merged;
    }

    /// <summary>
    /// A speech classifier: input <see cref="SpeechInput"/> float [N, window, dim] (a window of the front end's
    /// embeddings, as <see cref="Audio.AudioClipEncoder"/> makes them) → the head. The front end (mel + embedding
    /// models) stays outside the graph, named in the metadata (<see cref="ModelMetadata.FrontEnd"/>), so apps
    /// and <see cref="Inference.TransferModel"/> run it first; the window is the head's feature size / dim.
    /// </summary>
    /// <exception cref="OnnxTransferException">Image-only options (embedded preprocessing, a cut tensor, pooling) or a head that does not read embedding windows.</exception>
    public static OnnxModel ExportSpeech(BackboneManifest frontEnd, string headDir, ExportOptions? options = null)
    {
        if (options is not null && (options.EmbedPreprocessing || options.CutAt is not null || options.Pool is not null))
            throw new OnnxTransferException($"backbone '{frontEnd.Name}' is a speech backbone: --embed-preprocessing, --at and --pool apply to image backbones only; export without them.");
        var head = HeadInfo.Load(headDir);
        var dim = frontEnd.Audio?.EmbeddingDim ?? Audio.SpeechFrontEnd.EmbeddingSize;
        if (head.FeatureDimension <= 0 || head.FeatureDimension % dim != 0)
            throw new OnnxTransferException(
                $"{headDir}: the head reads {head.FeatureDimension}-d features, not a window of {dim}-d embeddings of speech backbone '{frontEnd.Name}'; " +
                "export it with the backbone its features were extracted with.");
        var eval = OnnxModel.Load(Path.Combine(headDir, Trainer.EvalGraphFile));
        var window = head.FeatureDimension / dim;
        var metadata = new ModelMetadata
        {
            Labels = head.Classes,
            InputKind = ModelInputKind.SpeechEmbeddings,
            FrontEnd = frontEnd.Name,
            Backbone = frontEnd.Name,
            BackboneSha256 = frontEnd.Files.FirstOrDefault(f => f.Name == frontEnd.Audio?.Stages[^1])?.Sha256 ?? frontEnd.Files[^1].Sha256,
            FeatureTensor = $"embedding[{window}x{dim}]",
            Head = head.Spec,
            Task = head.Task.ToString().ToLowerInvariant(),
            MetricsJson = MetricsJson(headDir),
        };
        return Compose(FeatureBackbone.SpeechWindowModel(window, dim), eval, metadata, null, headDir);
    }

    /// <summary>Input of exported speech models: float [N, window, dim] front-end embeddings.</summary>
    public const string SpeechInput = "embeddings";

    /// <summary>
    /// Compares the backbone and tensor being exported with what the head's features came from, when head.json
    /// records it: a feature store path (its metadata has the backbone's sha256 and tensor) or <c>BACKBONE:TENSOR</c>.
    /// A source that is gone or unreadable is not checked (the dimension check still runs).
    /// </summary>
    internal static async Task CheckFeatureSourceAsync(HeadInfo head, string headDir, string backbone, string sha256, string tensor, CancellationToken ct)
    {
        var source = head.FeatureSource;
        string? recordedSha = null, recordedTensor = null, recordedBackbone;
        if (source.EndsWith(".parquet", StringComparison.OrdinalIgnoreCase))
        {
            if (!File.Exists(source)) return;
            FeatureStoreMetadata store;
            try { store = await FeatureStore.ReadMetadataAsync(source, ct).ConfigureAwait(false); }
            catch (Exception e) when (e is OnnxTransferException or IOException or InvalidDataException) { return; }
            (recordedBackbone, recordedSha, recordedTensor) = (store.Backbone, store.BackboneSha256, store.FeatureTensor);
        }
        else
        {
            var colon = source.LastIndexOf(':');
            if (colon <= 0 || source.Contains('/') || source.Contains('\\')) return;
            (recordedBackbone, recordedTensor) = (source[..colon], source[(colon + 1)..]);
        }
        const string Fix = "pass the backbone and --at the features were extracted with (or --ignore-feature-source to export anyway)";
        if (recordedSha is { Length: > 0 } && !string.Equals(recordedSha, sha256, StringComparison.OrdinalIgnoreCase))
            throw new OnnxTransferException($"{headDir}: the head was trained on features of backbone '{recordedBackbone}' (sha256 {recordedSha[..12]}…), not '{backbone}' (sha256 {sha256[..12]}…); {Fix}.");
        if (recordedTensor is { Length: > 0 } && recordedTensor != tensor)
            throw new OnnxTransferException($"{headDir}: the head was trained on features from tensor '{recordedTensor}' of '{recordedBackbone}', but the export cuts at '{tensor}'; {Fix}.");
    }

    /// <summary>The "metrics" object of head.json as compact JSON, or null when absent.</summary>
    private static string? MetricsJson(string headDir)
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(headDir, HeadInfo.FileName)));
        if (!doc.RootElement.TryGetProperty("metrics", out var metrics)) return null;
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer)) metrics.WriteTo(w);
        return System.Text.Encoding.UTF8.GetString(buffer.ToArray());
    }

    private static IEnumerable<ValueInfoProto> RealInputs(GraphProto graph)
    {
        var initializers = graph.Initializer.Select(t => t.Name).ToHashSet(StringComparer.Ordinal);
        return graph.Input.Where(i => !initializers.Contains(i.Name));
    }

    private static TensorDim BatchDim(ValueInfoProto input)
    {
        var shape = TensorInfo.FromValueInfo(input).Shape;
        if (shape is null || shape.Count == 0) return TensorDim.Symbolic("batch");
        var d = shape[0];
        return d.Value is null && d.Symbol.Length == 0 ? TensorDim.Symbolic("batch") : d;
    }

    private static void CheckImageInput(OnnxModel backbone, ValueInfoProto input, ImagePreprocessing spec)
    {
        var info = TensorInfo.FromValueInfo(input);
        if (info.ElementType != DataType.Float)
            throw new OnnxFormatException($"{backbone.DisplayName}: input '{input.Name}' is {info.ElementTypeName}; --embed-preprocessing feeds float32 pixels.");
        if (info.Shape is not { Count: 4 } s) return; // unknown shape: trust the manifest
        long?[] expected = spec.Layout == TensorLayout.Nchw ? [3, spec.Height, spec.Width] : [spec.Height, spec.Width, 3];
        for (var k = 0; k < 3; k++)
            if (s[k + 1].Value is { } v && v != expected[k])
                throw new OnnxFormatException($"{backbone.DisplayName}: input '{input.Name}' is {info.ShapeText} but the preprocessing '{spec}' makes {string.Join("x", expected)}; fix the backbone's preprocessing.");
    }

    // A model loaded from disk has its external data inlined; a tensor still pointing outside would make the file unusable alone.
    private static void CheckSelfContained(OnnxModel model)
    {
        foreach (var t in model.Graph.Initializer)
            if (t.DataLocation == TensorProto.Types.DataLocation.External)
                throw new OnnxFormatException($"{model.DisplayName}: initializer '{t.Name}' still refers to external data; load the backbone with OnnxModel.Load so its weights are inlined.");
        var bytes = model.Proto.CalculateSize();
        if (bytes > OnnxModel.MaxProtobufBytes)
            throw new OnnxFormatException($"the exported model would be {bytes:N0} bytes, over protobuf's 2 GB limit; use a smaller backbone.");
    }
}
