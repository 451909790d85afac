using System.Security.Cryptography;

namespace OnnxTransfer;

/// <summary>
/// SHA-256 integrity digests for the files this toolkit writes and later trusts (feature stores, checkpoints):
/// a stream that hashes what passes through it while writing, and a hash of a file's first bytes for checking on
/// read, so a flipped byte is refused instead of being trained on.
/// </summary>
internal static class FileDigest
{
    /// <summary>Length of a digest in bytes.</summary>
    public const int Length = 32;

    /// <summary>SHA-256 of the first <paramref name="count"/> bytes of <paramref name="stream"/> (read from the start).</summary>
    public static IncrementalHash HashPrefix(Stream stream, long count)
    {
        var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        stream.Position = 0;
        Append(hash, stream, count);
        return hash;
    }

    /// <summary>Adds the next <paramref name="count"/> bytes of <paramref name="stream"/> to <paramref name="hash"/>.</summary>
    public static void Append(IncrementalHash hash, Stream stream, long count)
    {
        var buffer = new byte[(int)Math.Clamp(count, 1, 1 << 16)];
        while (count > 0)
        {
            var n = stream.Read(buffer, 0, (int)Math.Min(buffer.Length, count));
            if (n == 0) throw new EndOfStreamException();
            hash.AppendData(buffer, 0, n);
            count -= n;
        }
    }

    /// <summary>Writes what <paramref name="body"/> writes, followed by its SHA-256 (a trailer <see cref="HasValidTrailer"/> checks).</summary>
    public static void WriteWithTrailer(Stream output, Action<Stream> body)
    {
        using var hashing = new HashingStream(output);
        body(hashing);
        hashing.Flush();
        output.Write(hashing.Hash.GetHashAndReset());
    }

    /// <summary>True when the last <see cref="Length"/> bytes of <paramref name="file"/> are the SHA-256 of the bytes before them; rewinds the stream.</summary>
    public static bool HasValidTrailer(Stream file)
    {
        if (file.Length < Length) return false;
        using var hash = HashPrefix(file, file.Length - Length);
        Span<byte> stored = stackalloc byte[Length];
        file.ReadExactly(stored);
        file.Position = 0;
        return hash.GetHashAndReset().AsSpan().SequenceEqual(stored);
    }

    /// <summary>A write-only pass-through stream that hashes every byte written and counts them.</summary>
    public sealed class HashingStream(Stream inner) : Stream
    {
        private long _written;
        private MemoryStream? _captured;

        /// <summary>Also keeps a copy of every byte written from now on (for a small tail such as a footer).</summary>
        public void StartCapture() => _captured = new MemoryStream();

        /// <summary>The bytes written since <see cref="StartCapture"/>.</summary>
        public ReadOnlySpan<byte> Captured => _captured is null ? default : _captured.GetBuffer().AsSpan(0, (int)_captured.Length);

        /// <summary>The running hash of the bytes written so far.</summary>
        public IncrementalHash Hash { get; } = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);

        public override bool CanRead => false;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => _written;
        public override long Position { get => _written; set => throw new NotSupportedException(); }

        public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

        public override void Write(ReadOnlySpan<byte> buffer)
        {
            Hash.AppendData(buffer);
            _captured?.Write(buffer);
            inner.Write(buffer);
            _written += buffer.Length;
        }

        public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken ct) =>
            WriteAsync(buffer.AsMemory(offset, count), ct).AsTask();

        public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken ct = default)
        {
            Hash.AppendData(buffer.Span);
            _captured?.Write(buffer.Span);
            await inner.WriteAsync(buffer, ct).ConfigureAwait(false);
            _written += buffer.Length;
        }

        public override void WriteByte(byte value) => Write([value]);
        public override void Flush() => inner.Flush();
        public override Task FlushAsync(CancellationToken ct) => inner.FlushAsync(ct);
        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();

        protected override void Dispose(bool disposing)
        {
            if (disposing) Hash.Dispose();
            base.Dispose(disposing);
        }
    }
}
