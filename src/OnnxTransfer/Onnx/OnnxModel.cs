using Google.Protobuf;
using OnnxTransfer.Onnx.Proto;

namespace OnnxTransfer.Onnx;

/// <summary>
/// An ONNX model in memory: the protobuf <see cref="ModelProto"/> plus where it came from.
/// Loading resolves external-data tensors into the model, so a loaded model is self-contained.
/// </summary>
public sealed class OnnxModel
{
    /// <summary>Largest model protobuf can hold in one message.</summary>
    public const long MaxProtobufBytes = int.MaxValue;

    /// <summary>The opset version this toolkit emits for new graphs.</summary>
    public const long DefaultOpset = 17;

    private OnnxModel(ModelProto proto, string? sourcePath)
    {
        Proto = proto;
        SourcePath = sourcePath;
    }

    /// <summary>The underlying protobuf message (mutable).</summary>
    internal ModelProto Proto { get; }

    /// <summary>The main graph.</summary>
    internal GraphProto Graph => Proto.Graph;

    /// <summary>The file the model was loaded from, if any.</summary>
    public string? SourcePath { get; }

    /// <summary>A short name for messages: the file name, or "&lt;memory&gt;".</summary>
    public string DisplayName => SourcePath is null ? "<memory>" : Path.GetFileName(SourcePath);

    /// <summary>Creates an empty model with one graph and the default ai.onnx opset.</summary>
    public static OnnxModel Create(string graphName = "graph", long opset = DefaultOpset)
    {
        var proto = new ModelProto
        {
            IrVersion = 8,
            ProducerName = "OnnxTransfer",
            ProducerVersion = ToolInfo.Version,
            Graph = new GraphProto { Name = graphName },
        };
        proto.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = opset });
        return new OnnxModel(proto, null);
    }

    /// <summary>Wraps an existing protobuf message.</summary>
    internal static OnnxModel FromProto(ModelProto proto, string? sourcePath = null) => new(proto, sourcePath);

    /// <summary>
    /// Reads an ONNX file. External-data tensors are read from beside the file. Any failure is an
    /// <see cref="OnnxFormatException"/> whose message names the file.
    /// </summary>
    public static OnnxModel Load(string path)
    {
        var full = Path.GetFullPath(path);
        EnsureReadable(path);
        var length = new FileInfo(full).Length;
        if (length == 0)
            throw new OnnxFormatException($"{path}: the file is empty (0 bytes); re-download or re-export it.");
        if (length > MaxProtobufBytes)
            throw new OnnxFormatException($"{path}: {length:N0} bytes is over protobuf's 2 GB limit; save the weights as external data.");
        ModelProto proto;
        try
        {
            using var stream = File.OpenRead(full);
            var input = new CodedInputStream(stream);
            proto = ModelProto.Parser.ParseFrom(input);
        }
        catch (InvalidProtocolBufferException e)
        {
            throw new OnnxFormatException($"{path}: not a valid ONNX model ({OneLine(e.Message)}); the file is truncated or not ONNX — re-download or re-export it.", e);
        }
        catch (IOException e)
        {
            throw new OnnxFormatException($"{path}: cannot read the file ({OneLine(e.Message)}).", e);
        }
        var model = new OnnxModel(proto, full);
        model.Validate(path);
        ExternalData.Resolve(model.Graph, Path.GetDirectoryName(full)!, path);
        return model;
    }

    /// <summary>Parses a model from bytes (for models built in memory or received over the wire).</summary>
    public static OnnxModel FromBytes(byte[] bytes, string name = "<memory>")
    {
        ModelProto proto;
        try { proto = ModelProto.Parser.ParseFrom(bytes); }
        catch (InvalidProtocolBufferException e)
        {
            throw new OnnxFormatException($"{name}: not a valid ONNX model ({OneLine(e.Message)}).", e);
        }
        var model = new OnnxModel(proto, null);
        model.Validate(name);
        return model;
    }

    /// <summary>Serializes the model (all tensors inline).</summary>
    public byte[] ToBytes() => Proto.ToByteArray();

    /// <summary>Writes the model through a temporary file and a rename, so a crash never leaves half a model.</summary>
    public void Save(string path) => AtomicFile.Write(path, stream => Proto.WriteTo(stream));

    /// <summary>A deep copy that can be edited without touching this model.</summary>
    public OnnxModel Clone() => new(Proto.Clone(), SourcePath);

    /// <summary>The imported opset version for a domain ("" is ai.onnx), or 0 when not imported.</summary>
    public long OpsetVersion(string domain = "")
    {
        foreach (var o in Proto.OpsetImport)
            if (o.Domain == domain || (domain == "" && o.Domain == "ai.onnx"))
                return o.Version;
        return 0;
    }

    /// <summary>Imports <paramref name="domain"/> at <paramref name="version"/> when it is not imported yet.</summary>
    public void EnsureOpset(string domain, long version)
    {
        if (OpsetVersion(domain) == 0)
            Proto.OpsetImport.Add(new OperatorSetIdProto { Domain = domain, Version = version });
    }

    /// <summary>The model's metadata_props as a dictionary (last value wins).</summary>
    public IReadOnlyDictionary<string, string> Metadata
    {
        get
        {
            var d = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var p in Proto.MetadataProps) d[p.Key] = p.Value;
            return d;
        }
    }

    /// <summary>Sets (or replaces) one metadata_props entry.</summary>
    public void SetMetadata(string key, string value)
    {
        for (var i = Proto.MetadataProps.Count - 1; i >= 0; i--)
            if (Proto.MetadataProps[i].Key == key) Proto.MetadataProps.RemoveAt(i);
        Proto.MetadataProps.Add(new StringStringEntryProto { Key = key, Value = value });
    }

    private void Validate(string name)
    {
        if (Proto.Graph is null || (Proto.Graph.Node.Count == 0 && Proto.Graph.Output.Count == 0))
            throw new OnnxFormatException($"{name}: not an ONNX model (no graph found); check the file is an .onnx model and not truncated.");
        if (Proto.OpsetImport.Count == 0 && Proto.IrVersion < 3)
            throw new OnnxFormatException($"{name}: not an ONNX model (no opset import, IR version {Proto.IrVersion}).");
        foreach (var node in Proto.Graph.Node)
            if (string.IsNullOrEmpty(node.OpType))
                throw new OnnxFormatException($"{name}: node '{node.Name}' has no operator type; the file is corrupt.");
    }

    /// <summary><see cref="InputFile.EnsureReadable"/> as an <see cref="OnnxFormatException"/>.</summary>
    internal static void EnsureReadable(string path) => OnnxFormatException.EnsureReadable(path);

    /// <summary>A library's message on one line (see <see cref="OnnxTransferException.OneLine"/>).</summary>
    internal static string OneLine(string s) => OnnxTransferException.OneLine(s);
}
