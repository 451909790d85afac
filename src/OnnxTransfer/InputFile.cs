namespace OnnxTransfer;

/// <summary>
/// Checks an input path before anything opens it. Opening a FIFO blocks until a writer comes (a hang) and a device
/// never ends, so only regular files with data are read. Linux reports a size of 0 for FIFOs, sockets and devices,
/// which is what tells them apart here; an empty regular file is refused with them, as no input is ever empty.
/// </summary>
public static class InputFile
{
    /// <summary>Why <paramref name="path"/> cannot be read as an input file, or null when it can.</summary>
    public static string? Problem(string path)
    {
        FileInfo info;
        try { info = new FileInfo(path); }
        catch (Exception e) when (e is ArgumentException or PathTooLongException or NotSupportedException)
        {
            return "not a valid file path; check it.";
        }
        if (!info.Exists)
            return Directory.Exists(path) ? "is a folder, not a file; give the file inside it." : "file not found; check the path.";
        if (info.Length == 0)
            return "empty (0 bytes), or not a regular file (a FIFO, socket or device); give a regular file with data.";
        return null;
    }

    /// <summary>Throws an <see cref="OnnxTransferException"/> naming <paramref name="path"/> unless it is a regular, non-empty file.</summary>
    public static void EnsureReadable(string path)
    {
        if (Problem(path) is { } problem) throw new OnnxTransferException($"{path}: {problem}");
    }
}
