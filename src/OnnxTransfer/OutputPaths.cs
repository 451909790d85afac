namespace OnnxTransfer;

/// <summary>
/// Refuses, before any work, a run whose output would overwrite one of its inputs or another of its
/// outputs. Paths are compared after resolving symbolic links (of the file and of its folders).
/// </summary>
internal static class OutputPaths
{
    /// <summary>
    /// Throws when two entries name the same file or when an output lies inside an input folder it would
    /// replace. Entries are (option name, path); null paths are skipped.
    /// </summary>
    public static void RefuseOverlap(IEnumerable<(string Option, string? Path)> inputs, IEnumerable<(string Option, string? Path)> outputs)
    {
        var ins = inputs.Where(i => i.Path is not null).Select(i => (i.Option, i.Path!, Full: RealPath(i.Path!))).ToList();
        var outs = outputs.Where(o => o.Path is not null).Select(o => (o.Option, o.Path!, Full: RealPath(o.Path!))).ToList();
        for (var i = 0; i < outs.Count; i++)
        {
            foreach (var input in ins)
                if (Same(outs[i].Full, input.Full))
                    throw new OnnxTransferException($"{outs[i].Item2}: {outs[i].Option} is the same file as {input.Option} and would overwrite it; choose another {outs[i].Option}.");
            for (var j = 0; j < i; j++)
                if (Same(outs[i].Full, outs[j].Full))
                    throw new OnnxTransferException($"{outs[i].Item2}: {outs[i].Option} is the same file as {outs[j].Option}; give them different paths.");
        }
    }

    /// <summary>
    /// Throws when <paramref name="folder"/>, an output folder replaced as a whole, is or holds one of the
    /// inputs (replacing it would delete them).
    /// </summary>
    public static void RefuseFolderHoldingInputs(string option, string folder, IEnumerable<(string Option, string? Path)> inputs)
    {
        var full = RealPath(folder);
        foreach (var (inputOption, path) in inputs)
        {
            if (path is null) continue;
            var input = RealPath(path);
            if (Same(input, full) || input.StartsWith(full + Path.DirectorySeparatorChar, StringComparison.Ordinal))
                throw new OnnxTransferException($"{folder}: {option} is replaced as a whole and holds {inputOption} {path}; choose another {option}.");
        }
    }

    /// <summary>The absolute path with every symbolic link along it resolved (the parts that exist).</summary>
    public static string RealPath(string path)
    {
        var full = Path.TrimEndingDirectorySeparator(Path.GetFullPath(path));
        var parent = Path.GetDirectoryName(full);
        if (parent is null) return full;
        var resolved = Path.Combine(RealPath(parent), Path.GetFileName(full));
        FileSystemInfo info = Directory.Exists(resolved) ? new DirectoryInfo(resolved) : new FileInfo(resolved);
        try
        {
            if (info.LinkTarget is not null && info.ResolveLinkTarget(returnFinalTarget: true) is { } target)
                return RealPath(target.FullName);
        }
        catch (IOException) { /* a link loop: compare as is */ }
        return resolved;
    }

    private static bool Same(string a, string b) => string.Equals(a, b, OperatingSystem.IsLinux() ? StringComparison.Ordinal : StringComparison.OrdinalIgnoreCase);
}
