namespace OnnxTransfer.Onnx;

/// <summary>An ONNX file that cannot be read or does not have the structure an operation needs.</summary>
public sealed class OnnxFormatException : OnnxTransferException
{
    /// <summary>Creates the exception; <paramref name="message"/> names the file and the fix.</summary>
    public OnnxFormatException(string message, Exception? inner = null) : base(message, inner) { }
}
