namespace OnnxTransfer.Onnx;

/// <summary>An ONNX file that cannot be read or does not have the structure an operation needs.</summary>
public sealed class OnnxFormatException : OnnxTransferException
{
    /// <summary>Creates the exception; <paramref name="message"/> names the file and the fix.</summary>
    public OnnxFormatException(string message, Exception? inner = null) : base(message, inner) { }

    /// <summary><see cref="InputFile.EnsureReadable"/> as an <see cref="OnnxFormatException"/>: missing files, folders and FIFOs are refused up front.</summary>
    internal static void EnsureReadable(string path)
    {
        try { InputFile.EnsureReadable(path); }
        catch (OnnxTransferException e) when (e is not OnnxFormatException) { throw new OnnxFormatException(e.Message, e); }
    }
}
