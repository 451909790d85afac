using System.Buffers;

namespace OnnxTransfer.Imaging;

/// <summary>
/// Pixel buffers of decoded images under one process-wide memory budget: a decode that would take the bytes in
/// use over <see cref="Budget"/> waits until other images are released, so the images held at once are bounded
/// by memory and not only by the number of decode workers. An image larger than the whole budget is decoded
/// alone. Small buffers come from the shared pool; large ones do not, because the pool would keep them (one per
/// core) after use.
/// </summary>
internal static class PixelMemory
{
    private const int PooledLimit = 16 << 20;
    private static readonly object Gate = new();
    private static long _inUse;

    /// <summary>
    /// Bytes of decoded pixels held at once, all decoders together: a quarter of the memory available to the
    /// process, between 256 MiB and 2 GiB.
    /// </summary>
    public static long Budget { get; set; } = Math.Clamp(GC.GetGCMemoryInfo().TotalAvailableMemoryBytes / 4, 256L << 20, 2L << 30);

    /// <summary>Bytes held now.</summary>
    public static long InUse { get { lock (Gate) return _inUse; } }

    internal static byte[] Rent(int bytes)
    {
        lock (Gate)
        {
            // A decoder never holds two images while asking for a third, so waiting cannot deadlock; the
            // timeout only guards against a caller that does (it then goes over budget rather than hang).
            var deadline = Environment.TickCount64 + 60_000;
            while (_inUse > 0 && _inUse + bytes > Budget && Environment.TickCount64 < deadline)
                Monitor.Wait(Gate, 1000);
            _inUse += bytes;
        }
        try
        {
            return bytes <= PooledLimit ? ArrayPool<byte>.Shared.Rent(bytes) : GC.AllocateUninitializedArray<byte>(bytes);
        }
        catch
        {
            Release(bytes);
            throw;
        }
    }

    /// <summary>Gives back a buffer from <see cref="Rent"/>; <paramref name="bytes"/> is the size that was asked for.</summary>
    internal static void Return(byte[] buffer, int bytes)
    {
        if (bytes <= PooledLimit) ArrayPool<byte>.Shared.Return(buffer);
        Release(bytes);
    }

    private static void Release(int bytes)
    {
        lock (Gate)
        {
            _inUse -= bytes;
            Monitor.PulseAll(Gate);
        }
    }
}
