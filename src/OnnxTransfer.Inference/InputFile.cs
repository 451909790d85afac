using System.Runtime.InteropServices;

namespace OnnxTransfer;

/// <summary>
/// Checks on files the toolkit reads from users (models, images, WAV, CSV, Parquet): only regular files are read,
/// and a file named inside a folder must really lie inside it once symlinks are resolved.
/// </summary>
internal static partial class InputFile
{
    /// <summary>
    /// Throws unless <paramref name="path"/> is an existing regular file (symlinks followed). Refuses folders,
    /// FIFOs, devices and sockets up front: opening a FIFO blocks until a writer comes, and a device never ends.
    /// </summary>
    /// <exception cref="OnnxTransferException">The path is missing, a folder, or not a regular file.</exception>
    public static void EnsureReadable(string path)
    {
        if (NotRegular(path) is { } problem) throw new OnnxTransferException($"{path}: {problem}");
    }

    /// <summary>
    /// Why <paramref name="path"/> cannot be read as a media input (image, WAV), or null when it can: what
    /// <see cref="EnsureReadable"/> refuses, and empty files, since no image or recording is ever 0 bytes.
    /// </summary>
    public static string? Problem(string path)
    {
        if (NotRegular(path) is { } problem) return problem;
        return new FileInfo(path).Length == 0 ? "empty (0 bytes); give a file with data." : null;
    }

    private static string? NotRegular(string path)
    {
        try { _ = Path.GetFullPath(path); }
        catch (Exception e) when (e is ArgumentException or PathTooLongException or NotSupportedException)
        {
            return "not a valid file path; check it.";
        }
        if (Directory.Exists(path)) return "is a folder, not a file; pass the file itself.";
        if (!File.Exists(path)) return "file not found; check the path.";
        return Kind(path) is { } kind and not FileKind.Regular
            ? $"is a {Describe(kind)}, not a regular file; copy the data into a file and pass that."
            : null;
    }

    /// <summary>
    /// True when <paramref name="path"/>, with every symlink resolved, lies strictly inside <paramref name="folder"/>
    /// (also resolved): a separator-terminated prefix test, so "/data/models2/x" is not inside "/data/models".
    /// </summary>
    public static bool IsInside(string folder, string path)
    {
        var root = RealPath(folder);
        if (!root.EndsWith(Path.DirectorySeparatorChar)) root += Path.DirectorySeparatorChar;
        return RealPath(path).StartsWith(root, PathComparison);
    }

    /// <summary>True when the lexical full path (no symlinks resolved) lies strictly inside <paramref name="folder"/>.</summary>
    public static bool IsLexicallyInside(string folder, string path)
    {
        var root = Path.GetFullPath(folder);
        if (!root.EndsWith(Path.DirectorySeparatorChar)) root += Path.DirectorySeparatorChar;
        return Path.GetFullPath(path).StartsWith(root, PathComparison);
    }

    /// <summary>
    /// The absolute path with every symlink resolved, in the folders as well as the last name (like realpath(3));
    /// parts that do not exist are kept as they are.
    /// </summary>
    public static string RealPath(string path) => RealPath(Path.GetFullPath(path), depth: 0);

    private static StringComparison PathComparison =>
        OperatingSystem.IsWindows() || OperatingSystem.IsMacOS() ? StringComparison.OrdinalIgnoreCase : StringComparison.Ordinal;

    private static string RealPath(string full, int depth)
    {
        if (depth > 40)
            throw new OnnxTransferException($"{full}: too many levels of symbolic links; remove the link loop.");
        var root = Path.GetPathRoot(full)!;
        var current = root;
        foreach (var part in full[root.Length..].Split(Path.DirectorySeparatorChar, StringSplitOptions.RemoveEmptyEntries))
        {
            var next = Path.Combine(current, part);
            FileSystemInfo entry = new FileInfo(next);
            if (entry.LinkTarget is { } target)
                next = RealPath(Path.GetFullPath(target, current), depth + 1);
            current = next;
        }
        return current;
    }

    private enum FileKind { Regular, Folder, Fifo, CharacterDevice, BlockDevice, Socket, Other }

    private static string Describe(FileKind kind) => kind switch
    {
        FileKind.Fifo => "FIFO (named pipe)",
        FileKind.CharacterDevice => "character device",
        FileKind.BlockDevice => "block device",
        FileKind.Socket => "socket",
        FileKind.Folder => "folder",
        _ => "special file",
    };

    // .NET has no public API for the file type (FileInfo says "Normal" for a FIFO), so ask the runtime's own
    // native shim, which every .NET install ships on Unix and whose mode bits are the same on every platform.
    // Null where it cannot tell (Windows, where FIFOs and devices do not appear as paths).
    private static FileKind? Kind(string path)
    {
        if (OperatingSystem.IsWindows()) return null;
        var status = new byte[256];
        try
        {
            if (Stat(path, status) != 0) return null;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            return null;
        }
        return (BitConverter.ToInt32(status, 4) & 0xF000) switch
        {
            0x8000 => FileKind.Regular,
            0x4000 => FileKind.Folder,
            0x1000 => FileKind.Fifo,
            0x2000 => FileKind.CharacterDevice,
            0x6000 => FileKind.BlockDevice,
            0xC000 => FileKind.Socket,
            _ => FileKind.Other,
        };
    }

    // SystemNative_Stat(path, FileStatus*): follows symlinks; FileStatus starts { int Flags; int Mode; ... }.
    [LibraryImport("libSystem.Native", EntryPoint = "SystemNative_Stat", StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Stat(string path, [Out] byte[] status);
}
