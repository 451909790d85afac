namespace OnnxTransfer;

/// <summary>
/// Writes a file through a temporary sibling and a rename, so readers see the old file or the new
/// one, never half of one (a crash, Ctrl-C or full disk leaves the old file intact). A folder is
/// written the same way as a whole: into a sibling folder that is swapped in by renames when complete.
/// </summary>
internal static class AtomicFile
{
    /// <summary>
    /// Test seam: when set, file writes through this class fail with "No space left on device" once this
    /// many bytes in total have been written, as a full disk would.
    /// </summary>
    internal static long? DiskFullAfterBytes { get; set; }

    /// <summary>Writes <paramref name="path"/> with <paramref name="write"/>; on failure the temp file is removed.</summary>
    public static void Write(string path, Action<Stream> write)
    {
        var full = Path.GetFullPath(path);
        var dir = Path.GetDirectoryName(full)!;
        Directory.CreateDirectory(dir);
        var temp = TempSibling(full, "tmp");
        try
        {
            using (var fs = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16))
            using (var target = DiskFullAfterBytes is null ? (Stream)fs : new DiskFullStream(fs))
            {
                write(target);
                target.Flush();
                fs.Flush(flushToDisk: true);
            }
            File.Move(temp, full, overwrite: true);
        }
        catch (Exception e)
        {
            TryDelete(temp);
            if (e is IOException io) throw WriteFailed(path, io);
            throw;
        }
    }

    /// <summary>Writes <paramref name="path"/> with the asynchronous <paramref name="write"/>; on failure or cancellation the temp file is removed.</summary>
    public static async Task WriteAsync(string path, Func<Stream, CancellationToken, Task> write, CancellationToken ct = default)
    {
        var full = Path.GetFullPath(path);
        Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        var temp = TempSibling(full, "tmp");
        try
        {
            var fs = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16, useAsync: true);
            await using (fs.ConfigureAwait(false))
            {
                var target = DiskFullAfterBytes is null ? (Stream)fs : new DiskFullStream(fs);
                await write(target, ct).ConfigureAwait(false);
                await target.FlushAsync(ct).ConfigureAwait(false);
                fs.Flush(flushToDisk: true);
            }
            File.Move(temp, full, overwrite: true);
        }
        catch (Exception e)
        {
            TryDelete(temp);
            if (e is IOException io) throw WriteFailed(path, io);
            throw;
        }
    }

    /// <summary>Writes text atomically (UTF-8, no BOM).</summary>
    public static void WriteText(string path, string text) =>
        Write(path, s => { var b = new System.Text.UTF8Encoding(false).GetBytes(text); s.Write(b); });

    /// <summary>
    /// Writes the folder <paramref name="path"/> as a whole: <paramref name="write"/> fills a temporary sibling
    /// folder, which then replaces <paramref name="path"/> (see <see cref="ReplaceDirectory"/>). On failure the
    /// temporary folder is removed and the previous folder is untouched.
    /// </summary>
    public static void WriteDirectory(string path, Action<string> write)
    {
        var full = Path.TrimEndingDirectorySeparator(Path.GetFullPath(path));
        var temp = TempSibling(full, "tmp");
        Directory.CreateDirectory(temp);
        try
        {
            write(temp);
            ReplaceDirectory(temp, full);
        }
        catch
        {
            TryDeleteDirectory(temp);
            throw;
        }
    }

    /// <summary>
    /// Moves the complete folder <paramref name="source"/> to <paramref name="target"/> (same file system),
    /// replacing a previous folder there: the old one is renamed aside, the new one renamed in, then the old
    /// one deleted. If the second rename fails the old folder is put back.
    /// </summary>
    public static void ReplaceDirectory(string source, string target)
    {
        target = Path.TrimEndingDirectorySeparator(Path.GetFullPath(target));
        if (File.Exists(target))
            throw new OnnxTransferException($"{target}: is a file, not a folder; remove it or choose another output folder.");
        var old = Directory.Exists(target) ? TempSibling(target, "old") : null;
        try
        {
            if (old is not null) Directory.Move(target, old);
            try
            {
                Directory.Move(source, target);
            }
            catch when (old is not null)
            {
                Directory.Move(old, target);
                throw;
            }
        }
        catch (IOException e)
        {
            throw WriteFailed(target, e);
        }
        if (old is not null) TryDeleteDirectory(old);
    }

    /// <summary>A hidden, unique sibling of <paramref name="full"/> for writing before the swap.</summary>
    private static string TempSibling(string full, string suffix) =>
        Path.Combine(Path.GetDirectoryName(full)!, $".{Path.GetFileName(full)}.{Environment.ProcessId}.{Guid.NewGuid():N}.{suffix}");

    private static OnnxTransferException WriteFailed(string path, IOException e) =>
        new($"{path}: could not write ({e.Message.Trim()}); check free disk space and permissions (the previous version, if any, is unchanged).", e);

    private static void TryDelete(string file)
    {
        try { File.Delete(file); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }

    internal static void TryDeleteDirectory(string dir)
    {
        try { if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }

    /// <summary>Counts bytes written through <see cref="AtomicFile.Write(string, Action{Stream})"/> against <see cref="DiskFullAfterBytes"/>.</summary>
    private sealed class DiskFullStream(Stream inner) : Stream
    {
        private static long _written;

        public override bool CanRead => false;
        public override bool CanSeek => inner.CanSeek;
        public override bool CanWrite => true;
        public override long Length => inner.Length;
        public override long Position { get => inner.Position; set => inner.Position = value; }
        public override void Flush() => inner.Flush();
        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override long Seek(long offset, SeekOrigin origin) => inner.Seek(offset, origin);
        public override void SetLength(long value) => inner.SetLength(value);
        public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

        public override void Write(ReadOnlySpan<byte> buffer)
        {
            if (Interlocked.Add(ref _written, buffer.Length) > DiskFullAfterBytes)
                throw new IOException("No space left on device");
            inner.Write(buffer);
        }

        public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken ct)
        {
            Write(buffer.AsSpan(offset, count));
            return Task.CompletedTask;
        }

        public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken ct = default)
        {
            Write(buffer.Span);
            return ValueTask.CompletedTask;
        }

        /// <summary>Starts counting afresh (tests set <see cref="DiskFullAfterBytes"/> then call this).</summary>
        internal static void Reset() => Interlocked.Exchange(ref _written, 0);
    }

    /// <summary>Test seam: simulates a disk that fills after <paramref name="bytes"/> more bytes, until disposed.</summary>
    internal static IDisposable SimulateDiskFull(long bytes)
    {
        DiskFullStream.Reset();
        DiskFullAfterBytes = bytes;
        return new Restore();
    }

    private sealed class Restore : IDisposable
    {
        public void Dispose() => DiskFullAfterBytes = null;
    }
}
