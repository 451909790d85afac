using System.CommandLine;
using OnnxTransfer.Imaging;

namespace OnnxTransfer.Cli.Commands;

/// <summary>Image-decoding options shared by the commands that read image datasets.</summary>
internal static class ImageOptions
{
    /// <summary>`--max-pixels`: the largest image (decoded pixels) accepted; larger ones are refused before decoding.</summary>
    public static Option<long> MaxPixels()
    {
        var option = new Option<long>("--max-pixels")
        {
            Description = $"Refuse images that would decode to more pixels than this, before decoding (default {ImageDecoder.DefaultMaxPixels:N0}; 4 bytes each).",
            DefaultValueFactory = _ => ImageDecoder.DefaultMaxPixels,
        };
        option.Validators.Add(r =>
        {
            if (r.GetValueOrDefault<long>() <= 0) r.AddError("--max-pixels must be a positive number of pixels.");
        });
        return option;
    }
}
