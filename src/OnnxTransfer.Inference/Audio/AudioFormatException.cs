namespace OnnxTransfer.Audio;

/// <summary>An audio file that cannot be read (unsupported codec, damaged or truncated header/data).</summary>
public sealed class AudioFormatException : OnnxTransferException
{
    /// <summary>Creates the exception; <paramref name="message"/> names the file and the fix.</summary>
    public AudioFormatException(string message, Exception? inner = null) : base(message, inner) { }
}
