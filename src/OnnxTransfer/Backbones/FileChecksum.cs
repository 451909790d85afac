using System.Security.Cryptography;

namespace OnnxTransfer.Backbones;

/// <summary>SHA-256 of files, as lower-case hex (the form manifests carry).</summary>
internal static class FileChecksum
{
    /// <summary>The SHA-256 of <paramref name="path"/>.</summary>
    public static string Sha256(string path)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20);
        return Convert.ToHexStringLower(SHA256.HashData(stream));
    }

    /// <summary>True when the file exists, has <paramref name="size"/> bytes (when given) and the expected hash.</summary>
    public static bool Matches(string path, string sha256, long? size = null)
    {
        var info = new FileInfo(path);
        if (!info.Exists) return false;
        if (size is { } s && info.Length != s) return false;
        return string.Equals(Sha256(path), sha256, StringComparison.OrdinalIgnoreCase);
    }
}
