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
                case "offset": offset = Number(e.Value, "offset", t, modelName); break;
                case "length": length = Number(e.Value, "length", t, modelName); break;
            }
        }
        if (string.IsNullOrEmpty(location))
            throw new OnnxFormatException($"{modelName}: tensor '{t.Name}' is marked external but names no location; the model is corrupt.");
        var file = Inside(baseDir, location, t, modelName);
        try { InputFile.EnsureReadable(file); }
        catch (OnnxTransferException e)
        {
            throw new OnnxFormatException($"{modelName}: external data file '{location}' for tensor '{t.Name}' cannot be read ({e.Message}); keep it beside the model.", e);
        }
        using var fs = File.OpenRead(file);
        if (length < 0) length = fs.Length - offset;
        if (offset > fs.Length || length > fs.Length - offset)
            throw new OnnxFormatException($"{modelName}: external data for tensor '{t.Name}' ({location} @{offset}+{length}) runs past the end of the file ({fs.Length} bytes); it is truncated.");
        if (length > Array.MaxLength)
            throw new OnnxFormatException($"{modelName}: external data for tensor '{t.Name}' is {length:N0} bytes, more than one tensor can hold in memory; the model is too large for this toolkit.");
        var buffer = new byte[length];
        fs.Position = offset;
        fs.ReadExactly(buffer);
        t.RawData = ByteString.CopyFrom(buffer);
        t.ExternalData.Clear();
        t.DataLocation = TensorProto.Types.DataLocation.Default;
    }

    // The data file must be inside the model's folder both as written and once symlinks are resolved, as ONNX
    // Runtime requires; otherwise a model could make `cut` copy any readable file into the model it writes.
    private static string Inside(string baseDir, string location, TensorProto t, string modelName)
    {
        var file = Path.GetFullPath(Path.Combine(baseDir, location));
        if (Path.IsPathRooted(location) || !InputFile.IsLexicallyInside(baseDir, file) || !InputFile.IsInside(baseDir, file))
            throw new OnnxFormatException($"{modelName}: tensor '{t.Name}' points outside the model folder ('{location}'); refusing to read it — keep external data files inside the model's folder.");
        return file;
    }

    private static long Number(string text, string key, TensorProto t, string modelName) =>
        long.TryParse(text, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var value)
            ? value
            : throw new OnnxFormatException($"{modelName}: tensor '{t.Name}' has external-data {key} '{text}', not a whole number of bytes from 0 to {long.MaxValue}; the model is corrupt.");
}
