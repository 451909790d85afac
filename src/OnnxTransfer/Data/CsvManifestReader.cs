namespace OnnxTransfer.Data;

/// <summary>
/// Reads a CSV manifest: <c>path,label[,split]</c>, optional header (which may reorder the columns by name),
/// RFC 4180 quoting, paths relative to the CSV's folder and not allowed to leave it.
/// </summary>
internal sealed class CsvManifestReader(string csvPath, DatasetLoadOptions options)
{
    private static readonly string[] PathNames = ["path", "file", "filename", "file_name", "filepath", "file_path", "image", "image_path", "img", "audio", "audio_path"];
    private static readonly string[] LabelNames = ["label", "class", "class_name", "category", "target"];
    private static readonly string[] SplitNames = ["split", "set", "subset"];

    private readonly string _root = Path.GetDirectoryName(csvPath)!;

    /// <summary>
    /// Whether the CSV looks like a manifest: its first row names a path and a label column, or one of its first
    /// two rows starts with an existing file. Used to tell a manifest from an unrelated CSV beside image folders.
    /// </summary>
    public bool LooksLikeManifest()
    {
        var rows = File.ReadLines(csvPath).Where(l => !string.IsNullOrWhiteSpace(l)).Take(2).ToList();
        for (var i = 0; i < rows.Count; i++)
        {
            List<string> row;
            try { row = ParseRow(rows[i], i + 1); }
            catch (OnnxTransferException) { return false; }
            if (i == 0 && NamedColumns(row) is not null)
                return true;
            if (row.Count >= 2 && row[0].Length > 0 && File.Exists(Path.Combine(_root, row[0].Replace('\\', '/'))))
                return true;
        }
        return false;
    }

    public Dataset Read()
    {
        var items = new List<DatasetItem>();
        var lineById = new Dictionary<string, int>(StringComparer.Ordinal);
        int hidden = 0, otherExtension = 0;
        int pathColumn = 0, labelColumn = 1, splitColumn = 2;
        var first = true;
        var lineNumber = 0;
        foreach (var line in File.ReadLines(csvPath))
        {
            lineNumber++;
            if (string.IsNullOrWhiteSpace(line)) continue;
            var row = ParseRow(line, lineNumber);
            if (first)
            {
                first = false;
                if (TryHeader(row, ref pathColumn, ref labelColumn, ref splitColumn)) continue;
            }
            if (row.Count <= Math.Max(pathColumn, labelColumn))
                throw Error(lineNumber, $"expected at least {Math.Max(pathColumn, labelColumn) + 1} fields (path,label[,split]), found {row.Count}");
            var relative = row[pathColumn];
            if (relative.Length == 0)
                throw Error(lineNumber, "empty path");
            var full = Path.GetFullPath(Path.Combine(_root, relative.Replace('\\', '/')));
            var inside = InputFile.IsLexicallyInside(_root, full);
            if (!inside && !options.AllowOutsidePaths)
                throw Error(lineNumber, $"path '{relative}' leaves the manifest's folder; make it relative to {_root} and inside it, or pass --allow-outside-paths");
            var id = inside ? Path.GetRelativePath(_root, full).Replace(Path.DirectorySeparatorChar, '/') : full.Replace(Path.DirectorySeparatorChar, '/');
            if (inside && id.Split('/').Any(part => part.StartsWith('.'))) { hidden++; continue; }
            if (!options.Accepts(full)) { otherExtension++; continue; }
            if (!File.Exists(full))
                throw Error(lineNumber, Directory.Exists(full) ? $"'{relative}' is a folder, not a file" : $"file '{relative}' not found (looked for {full})");
            if (inside && !options.AllowOutsidePaths && !InputFile.IsInside(_root, full))
                throw Error(lineNumber, $"'{relative}' is a symlink to {InputFile.RealPath(full)}, outside the manifest's folder; copy the file in, or pass --allow-outside-paths");
            try { InputFile.EnsureReadable(full); }
            catch (OnnxTransferException e) { throw Error(lineNumber, e.Message.TrimEnd('.')); }
            if (!lineById.TryAdd(id, lineNumber))
                throw Error(lineNumber, $"'{relative}' is already listed on line {lineById[id]}; list each file once");
            items.Add(new DatasetItem(full, id, row[labelColumn], Split(row, splitColumn, lineNumber)));
        }
        if (items.Count == 0)
            throw new OnnxTransferException(DatasetLoader.NoItems(csvPath, options));
        items.Sort((a, b) => string.CompareOrdinal(a.Id, b.Id));
        return new Dataset(_root, DatasetLayout.CsvManifest, items, hidden, otherExtension, 0, []);
    }

    // An unknown split would silently leave the row out of every split (and "held-out" metrics would then be
    // computed on training rows), so it is an error; an empty split means "no split".
    private string Split(List<string> row, int splitColumn, int lineNumber)
    {
        var split = splitColumn < row.Count ? row[splitColumn] : "";
        if (split.Length == 0) return "";
        return DatasetLoader.NormalizeSplit(split)
            ?? throw Error(lineNumber, $"split '{split}' is not one of train, val, test (or training, valid, validation, testing); fix the value or leave it empty for no split");
    }

    // A first row is a header when it names its columns, or when nothing in it looks like data: no field is a
    // path (an existing file, a folder separator or a file extension) and its split field is no split name
    // (e.g. "img,species"). A data row there means the header is missing, and the row is kept as data.
    private bool TryHeader(List<string> row, ref int pathColumn, ref int labelColumn, ref int splitColumn)
    {
        if (NamedColumns(row) is var (p, l, s))
        {
            (pathColumn, labelColumn, splitColumn) = (p, l, s);
            return true;
        }
        var first = row[0];
        var looksLikePath = options.Accepts(first) || File.Exists(Path.Combine(_root, first)) || first.Contains('/') || first.Contains('\\')
            || Path.HasExtension(first);
        var looksLikeSplit = row.Count > 2 && DatasetLoader.NormalizeSplit(row[2]) is not null;
        return !looksLikePath && !looksLikeSplit;
    }

    // Column positions from a header naming its path and label columns (split: int.MaxValue when absent).
    private static (int Path, int Label, int Split)? NamedColumns(List<string> row)
    {
        var names = row.Select(f => f.ToLowerInvariant()).ToList();
        var p = names.FindIndex(PathNames.Contains);
        var l = names.FindIndex(LabelNames.Contains);
        if (p < 0 || l < 0) return null;
        var s = names.FindIndex(SplitNames.Contains);
        return (p, l, s >= 0 ? s : int.MaxValue);
    }

    private List<string> ParseRow(string line, int lineNumber)
    {
        var fields = new List<string>();
        var i = 0;
        while (true)
        {
            while (i < line.Length && line[i] is ' ' or '\t') i++;
            string field;
            if (i < line.Length && line[i] == '"')
            {
                var sb = new System.Text.StringBuilder();
                i++;
                while (true)
                {
                    if (i >= line.Length)
                        throw Error(lineNumber, "unterminated quoted field (quoted fields may not span lines)");
                    if (line[i] == '"')
                    {
                        if (i + 1 < line.Length && line[i + 1] == '"') { sb.Append('"'); i += 2; continue; }
                        i++;
                        break;
                    }
                    sb.Append(line[i++]);
                }
                while (i < line.Length && line[i] is ' ' or '\t') i++;
                if (i < line.Length && line[i] != ',')
                    throw Error(lineNumber, "unexpected text after a quoted field");
                field = sb.ToString();
            }
            else
            {
                var end = line.IndexOf(',', i);
                if (end < 0) end = line.Length;
                field = line[i..end].Trim();
                i = end;
            }
            fields.Add(field);
            if (i >= line.Length) return fields;
            i++; // the comma
        }
    }

    private OnnxTransferException Error(int lineNumber, string what) =>
        new($"{csvPath} line {lineNumber}: {what}.");
}
