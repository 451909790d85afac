namespace OnnxTransfer;

/// <summary>
/// A failure the user can act on: the message is one line that names the file or value at fault and,
/// where there is one, the fix. The CLI prints it without a stack trace.
/// </summary>
public class OnnxTransferException : Exception
{
    /// <summary>Creates the exception with a one-line, user-facing message.</summary>
    public OnnxTransferException(string message, Exception? inner = null) : base(message, inner) { }

    /// <summary>A message from a library or program on one line, cut at 300 characters (ONNX Runtime's carry C++ signatures).</summary>
    internal static string OneLine(string text)
    {
        var line = text.Replace('\r', ' ').Replace('\n', ' ').Trim();
        return line.Length <= 300 ? line : line[..300] + "…";
    }
}
