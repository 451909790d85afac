namespace OnnxTransfer.Imaging;

/// <summary>An image that cannot be decoded: missing, empty, corrupt, truncated, not an image, or too large.</summary>
public sealed class ImageDecodeException : OnnxTransferException
{
    /// <summary>Creates the exception; the message is "<paramref name="source"/>: <paramref name="reason"/>".</summary>
    public ImageDecodeException(string source, string reason, Exception? inner = null)
        : base($"{source}: {reason}", inner)
    {
        Source = source;
        Reason = reason;
    }

    /// <summary>The file (or the name given for in-memory data) that failed.</summary>
    public new string Source { get; }

    /// <summary>Why it failed, with the fix where there is one.</summary>
    public string Reason { get; }
}
