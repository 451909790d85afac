using OnnxTransfer.Data;

namespace OnnxTransfer.Imaging;

/// <summary>
/// Encodes training images through an <see cref="ImageAugmentation"/>: decode, draw the view of the item for the epoch
/// (stateless, from <see cref="Seed"/>, the epoch and the item id), crop and resize straight to the network size,
/// flip, normalize (<see cref="ImagePreprocessor.Process(DecodedImage, CropAndFlip, Span{float})"/>). Epoch 0 is the
/// plain, unaugmented encoding (<see cref="Plain"/>), used for evaluation. Thread-safe.
/// </summary>
internal sealed class AugmentedImageEncoder
{
    private readonly ImagePreprocessing _decodeTarget;

    /// <summary>Creates an encoder for <paramref name="preprocessing"/> (size, normalization) and <paramref name="augmentation"/>.</summary>
    /// <exception cref="OnnxTransferException">Bad augmentation ranges or preprocessing.</exception>
    public AugmentedImageEncoder(ImagePreprocessing preprocessing, ImageAugmentation augmentation, ulong seed, ImageDecoder? decoder = null)
    {
        augmentation.Validate();
        Plain = new ImageEncoder(preprocessing, decoder);
        Augmentation = augmentation;
        Seed = seed;
        // A JPEG may be decoded at a reduced scale only while the smallest possible crop keeps more pixels than the
        // network input: ask the decoder for a shorter side that makes that crop the input size.
        var shorter = (int)Math.Ceiling(Math.Max(preprocessing.Width, preprocessing.Height) / augmentation.SmallestSideFraction);
        _decodeTarget = preprocessing with { Resize = ResizeMode.ShorterSideThenCenterCrop, ResizeShorter = shorter };
    }

    /// <summary>The unaugmented encoder (epoch 0).</summary>
    public ImageEncoder Plain { get; }

    /// <summary>The augmentation drawn from.</summary>
    public ImageAugmentation Augmentation { get; }

    /// <summary>Seed of the draws.</summary>
    public ulong Seed { get; }

    /// <summary>Shape of one sample (as <see cref="ImageEncoder.SampleShape"/>).</summary>
    public IReadOnlyList<long> SampleShape => Plain.SampleShape;

    /// <summary>
    /// Encodes <paramref name="item"/> as seen in <paramref name="epoch"/> (1-based; 0 = plain encoding) and returns the
    /// view drawn (null for epoch 0).
    /// </summary>
    /// <exception cref="ImageDecodeException">The image cannot be read (the message names the file).</exception>
    public CropAndFlip? Encode(DatasetItem item, int epoch, Span<float> destination)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(epoch);
        if (epoch == 0)
        {
            Plain.Encode(item, destination);
            return null;
        }
        using var image = Plain.Decoder.Decode(item.Path, _decodeTarget);
        var view = Augmentation.Draw(image.OriginalWidth, image.OriginalHeight, Seed, epoch, item.Id);
        Plain.Preprocessor.Process(image, view, destination);
        return view;
    }

    /// <summary>Encodes the image file with the given view (box in full-size display pixels).</summary>
    /// <exception cref="ImageDecodeException">The image cannot be read.</exception>
    /// <exception cref="ArgumentOutOfRangeException">The box leaves the image.</exception>
    public void Encode(string path, CropAndFlip view, Span<float> destination)
    {
        using var image = Plain.Decoder.Decode(path, _decodeTarget);
        Plain.Preprocessor.Process(image, view, destination);
    }
}
