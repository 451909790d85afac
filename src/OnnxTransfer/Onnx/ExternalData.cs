using Google.Protobuf;
using OnnxTransfer.Onnx.Proto;

namespace OnnxTransfer.Onnx;

/// <summary>Reads tensors stored outside the .onnx file (ONNX "external data") into the model.</summary>
internal static class ExternalData
{
    public static void Resolve(GraphProto graph, string baseDir, string modelName)
    {
        foreach (var t in graph.Initializer)
            if (t.DataLocation == TensorProto.Types.DataLocation.External)
                Load(t, baseDir, modelName);
        foreach (var node in graph.Node)
            foreach (var a in node.Attribute)
            {
                if (a.G is not null) Resolve(a.G, baseDir, modelName);
                foreach (var g in a.Graphs) Resolve(g, baseDir, modelName);
                if (a.T is { DataLocation: TensorProto.Types.DataLocation.External }) Load(a.T, baseDir, modelName);
            }
    }

    private static void Load(TensorProto t, string baseDir, string modelName)
    {
        string? location = null;
        long offset = 0, length = -1;
        foreach (var e in t.ExternalData)
        {
            switch (e.Key)
            {
                case "location": location = e.Value; break;
                case "offset": offset = long.Parse(e.Value); break;
                case "length": length = long.Parse(e.Value); break;
            }
        }
        if (string.IsNullOrEmpty(location))
            throw new OnnxFormatException($"{modelName}: tensor '{t.Name}' is marked external but names no location; the model is corrupt.");
        var file = Path.GetFullPath(Path.Combine(baseDir, location));
        if (!file.StartsWith(Path.GetFullPath(baseDir), StringComparison.Ordinal))
            throw new OnnxFormatException($"{modelName}: tensor '{t.Name}' points outside the model folder ('{location}'); refusing to read it.");
        if (!File.Exists(file))
            throw new OnnxFormatException($"{modelName}: external data file '{location}' for tensor '{t.Name}' is missing; keep it beside the model.");
        using var fs = File.OpenRead(file);
        if (length < 0) length = fs.Length - offset;
        if (offset < 0 || offset + length > fs.Length)
            throw new OnnxFormatException($"{modelName}: external data for tensor '{t.Name}' ({location} @{offset}+{length}) runs past the end of the file; it is truncated.");
        var buffer = new byte[length];
        fs.Position = offset;
        fs.ReadExactly(buffer);
        t.RawData = ByteString.CopyFrom(buffer);
        t.ExternalData.Clear();
        t.DataLocation = TensorProto.Types.DataLocation.Default;
    }
}
