using System.Text;

namespace OnnxTransfer.Features;

/// <summary>
/// Items that could not be processed, written as CSV (<c>id,path,reason</c>, RFC 4180 quoting) and flushed
/// line by line as they happen, so the file is useful even if the run is killed. Thread-safe.
/// </summary>
internal sealed class ErrorLog : IDisposable
{
    private readonly object _gate = new();
    private readonly StreamWriter? _writer;
    private readonly List<(string Id, string Reason)> _first = [];
    private int _count;

    /// <summary>How many entries are kept in memory for <see cref="Examples"/>.</summary>
    public const int ExampleCount = 10;

    private ErrorLog(string? path, StreamWriter? writer) { Path = path; _writer = writer; }

    /// <summary>Starts a new log at <paramref name="path"/> (replacing an older one), or an in-memory log when null.</summary>
    public static ErrorLog Create(string? path)
    {
        if (path is null) return new ErrorLog(null, null);
        try
        {
            var dir = System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(path))!;
            Directory.CreateDirectory(dir);
            var writer = new StreamWriter(new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.Read), new UTF8Encoding(false));
            writer.WriteLine("id,path,reason");
            writer.Flush();
            return new ErrorLog(path, writer);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new OnnxTransferException($"{path}: cannot create the errors file ({e.Message.Trim()}); check the folder exists and is writable.", e);
        }
    }

    /// <summary>The CSV file, or null for an in-memory log.</summary>
    public string? Path { get; }

    /// <summary>Entries so far.</summary>
    public int Count { get { lock (_gate) return _count; } }

    /// <summary>The first <see cref="ExampleCount"/> entries (for a summary line).</summary>
    public IReadOnlyList<(string Id, string Reason)> Examples { get { lock (_gate) return _first.ToArray(); } }

    /// <summary>Records a failed item and flushes it to disk; returns the new count.</summary>
    public int Add(string id, string path, string reason)
    {
        reason = reason.ReplaceLineEndings(" ").Trim();
        lock (_gate)
        {
            if (_first.Count < ExampleCount) _first.Add((id, reason));
            if (_writer is not null)
            {
                _writer.WriteLine($"{Csv(id)},{Csv(path)},{Csv(reason)}");
                _writer.Flush();
            }
            return ++_count;
        }
    }

    /// <summary>Reads a log written by this class: (id, path, reason) per line.</summary>
    public static IReadOnlyList<(string Id, string Path, string Reason)> Read(string path)
    {
        var rows = new List<(string, string, string)>();
        var fields = new List<string>();
        var field = new StringBuilder();
        var text = File.ReadAllText(path);
        bool quoted = false, header = true;
        for (var i = 0; i <= text.Length; i++)
        {
            var c = i < text.Length ? text[i] : '\n';
            if (quoted)
            {
                if (c == '"' && i + 1 < text.Length && text[i + 1] == '"') { field.Append('"'); i++; }
                else if (c == '"') quoted = false;
                else field.Append(c);
            }
            else if (c == '"') quoted = true;
            else if (c == ',') { fields.Add(field.ToString()); field.Clear(); }
            else if (c == '\n')
            {
                fields.Add(field.ToString()); field.Clear();
                if (fields.Count == 3 && !header) rows.Add((fields[0], fields[1], fields[2]));
                if (fields.Count > 1) header = false;
                fields.Clear();
            }
            else if (c != '\r') field.Append(c);
        }
        return rows;
    }

    private static string Csv(string s) =>
        s.AsSpan().IndexOfAny(",\"\n\r") >= 0 ? "\"" + s.Replace("\"", "\"\"") + "\"" : s;

    /// <inheritdoc />
    public void Dispose()
    {
        lock (_gate) _writer?.Dispose();
    }
}
