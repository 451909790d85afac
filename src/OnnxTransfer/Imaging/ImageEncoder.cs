using OnnxTransfer.Data;
using OnnxTransfer.Features;
using SkiaSharp;

namespace OnnxTransfer.Imaging;

/// <summary>
/// Decodes an image and preprocesses it into one sample of the backbone's input (decoder + preprocessor).
/// Thread-safe: the extraction pipeline calls it from several workers.
/// </summary>
internal sealed class ImageEncoder : ISampleEncoder
{
    /// <summary>Creates an encoder for <paramref name="preprocessing"/>, with a default or given decoder.</summary>
    public ImageEncoder(ImagePreprocessing preprocessing, ImageDecoder? decoder = null)
    {
        Preprocessor = new ImagePreprocessor(preprocessing);
        Decoder = decoder ?? new ImageDecoder();
    }

    /// <summary>The decoder (pixel limit, scaled decoding).</summary>
    public ImageDecoder Decoder { get; }

    /// <summary>The preprocessor.</summary>
    public ImagePreprocessor Preprocessor { get; }

    /// <inheritdoc />
    public IReadOnlyList<long> SampleShape => Preprocessor.SampleShape;

    /// <inheritdoc />
    public void Encode(DatasetItem item, Span<float> destination) => Encode(item.Path, destination);

    /// <summary>Encodes an image file.</summary>
    public void Encode(string path, Span<float> destination)
    {
        using var image = Decoder.Decode(path, Preprocessor.Preprocessing);
        Preprocessor.Process(image, destination);
    }

    /// <summary>Encodes encoded image bytes (JPEG, PNG, ...); <paramref name="name"/> is used in error messages.</summary>
    public void Encode(ReadOnlySpan<byte> encoded, Span<float> destination, string name = "image")
    {
        using var image = Decoder.Decode(encoded, name, Preprocessor.Preprocessing);
        Preprocessor.Process(image, destination);
    }

    /// <summary>Encodes an encoded image read from <paramref name="stream"/>.</summary>
    public void Encode(Stream stream, Span<float> destination, string name = "image")
    {
        using var image = Decoder.Decode(stream, name, Preprocessor.Preprocessing);
        Preprocessor.Process(image, destination);
    }

    /// <summary>Encodes a bitmap (taken as displayed: no EXIF orientation; alpha composited on white).</summary>
    public void Encode(SKBitmap bitmap, Span<float> destination, string name = "bitmap")
    {
        using var image = Decoder.FromBitmap(bitmap, name);
        Preprocessor.Process(image, destination);
    }

    /// <summary>Encodes an image file into a new array (convenience; the hot path uses the span overloads).</summary>
    public float[] Encode(string path)
    {
        var result = new float[Preprocessor.SampleLength];
        Encode(path, result);
        return result;
    }
}
