namespace OnnxTransfer.Imaging;

/// <summary>
/// One training-time view of an image: the box to crop, in full-size display pixels (left, top, width, height),
/// and whether to mirror it left-right after resizing (torchvision <c>RandomResizedCrop</c> + <c>RandomHorizontalFlip</c>).
/// </summary>
internal readonly record struct CropAndFlip(int Left, int Top, int Width, int Height, bool Flip)
{
    /// <summary>The whole <paramref name="width"/> x <paramref name="height"/> image, optionally mirrored.</summary>
    public static CropAndFlip Whole(int width, int height, bool flip = false) => new(0, 0, width, height, flip);
}
