using OnnxTransfer.Audio;
using OnnxTransfer.Export;
using SkiaSharp;

namespace OnnxTransfer.Hosting;

/// <summary>The encoded inputs a health check labels: built once, never read from disk.</summary>
internal static class ProbeInput
{
    private static readonly Lazy<byte[]> Image = new(() =>
    {
        using var bitmap = new SKBitmap(64, 64);
        bitmap.Erase(new SKColor(128, 128, 128));
        using var png = bitmap.Encode(SKEncodedImageFormat.Png, 100);
        return png.ToArray();
    });

    private static readonly Lazy<byte[]> Silence = new(() => WavWriter.Encode(new float[SpeechFrontEnd.SampleRate], SpeechFrontEnd.SampleRate, "probe"));

    /// <summary>A PNG for image models, a WAV for speech models.</summary>
    public static byte[] For(ModelInputKind kind) => kind == ModelInputKind.SpeechEmbeddings ? Silence.Value : Image.Value;
}
