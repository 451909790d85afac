namespace OnnxTransfer;

/// <summary>
/// Keeps two runs from writing one output: an exclusive lock on the file <c>.&lt;name&gt;.lock</c> beside the
/// output, holding the owner's process id. The operating system drops the lock when its process dies, so a
/// lock file left by a killed run is simply taken over. Disposing releases the lock and removes the file.
/// </summary>
internal sealed class OutputLock : IDisposable
{
    private readonly FileStream _stream;

    private OutputLock(string path, FileStream stream)
    {
        Path = path;
        _stream = stream;
    }

    /// <summary>The lock file.</summary>
    public string Path { get; }

    /// <summary>Takes the lock of <paramref name="output"/> or throws naming the run that holds it.</summary>
    public static OutputLock Acquire(string output)
    {
        var full = System.IO.Path.TrimEndingDirectorySeparator(System.IO.Path.GetFullPath(output));
        var path = System.IO.Path.Combine(System.IO.Path.GetDirectoryName(full)!, $".{System.IO.Path.GetFileName(full)}.lock");
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(path)!);
        return new OutputLock(path, Open(path, output));
    }

    /// <summary>Opens the lock file exclusively (.NET takes an advisory flock on Unix for FileShare.None).</summary>
    internal static FileStream Open(string lockFile, string output)
    {
        FileStream stream;
        try
        {
            stream = new FileStream(lockFile, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        }
        catch (IOException e)
        {
            throw new OnnxTransferException($"{output}: another run is writing it ({lockFile} holds its process id); wait for it to finish or choose another output.", e);
        }
        stream.SetLength(0);
        var pid = System.Text.Encoding.ASCII.GetBytes(Environment.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture));
        stream.Write(pid);
        stream.Flush();
        return stream;
    }

    /// <summary>Removes the lock file (while still holding it, so no other run sees a half-released lock) and releases it.</summary>
    public void Dispose()
    {
        try { File.Delete(Path); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        _stream.Dispose();
    }
}
