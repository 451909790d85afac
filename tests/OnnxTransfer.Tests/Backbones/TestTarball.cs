using System.Formats.Tar;
using System.IO.Compression;

namespace OnnxTransfer.Tests.Backbones;

/// <summary>Builds a small .tgz (as npm packs them) from (entry name, content) pairs.</summary>
public static class TestTarball
{
    public static byte[] Build(params (string Name, byte[] Content)[] entries)
    {
        using var buffer = new MemoryStream();
        using (var gzip = new GZipStream(buffer, CompressionLevel.Fastest, leaveOpen: true))
        using (var tar = new TarWriter(gzip, TarEntryFormat.Ustar, leaveOpen: true))
        {
            foreach (var (name, content) in entries)
                tar.WriteEntry(new UstarTarEntry(TarEntryType.RegularFile, name) { DataStream = new MemoryStream(content) });
        }
        return buffer.ToArray();
    }
}
