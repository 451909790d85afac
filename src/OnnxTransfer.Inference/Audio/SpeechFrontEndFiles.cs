using OnnxTransfer.Inference;

namespace OnnxTransfer.Audio;

/// <summary>The two model files of a speech front end (openWakeWord's mel spectrogram and speech embedding).</summary>
/// <param name="MelModel">The mel-spectrogram model (16 kHz samples in, mel frames out).</param>
/// <param name="EmbeddingModel">The embedding model (mel windows in, 96-d embeddings out).</param>
public sealed record SpeechFrontEndFiles(string MelModel, string EmbeddingModel)
{
    /// <summary>File names of the stages in a front end's cache folder.</summary>
    public static IReadOnlyList<string> DefaultStages { get; } = ["melspectrogram.onnx", "embedding_model.onnx"];

    /// <summary>
    /// The front end <paramref name="name"/> as the model cache holds it (<see cref="ModelCache"/>: filled, with
    /// checksums verified, by the OnnxTransfer package's backbone registry or `onnxtransfer pull NAME`).
    /// </summary>
    /// <exception cref="OnnxTransferException">A file is missing; the message says how to pull it.</exception>
    public static SpeechFrontEndFiles FromCache(string name, string? cacheDir = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        if (name.IndexOfAny(['/', '\\']) >= 0 || name is "." or "..")
            throw new OnnxTransferException($"front end '{name}': not a model name; re-export the model.");
        var folder = ModelCache.ModelDirectory(cacheDir ?? ModelCache.DefaultDirectory(), name);
        var files = DefaultStages.Select(f => Path.Combine(folder, f)).ToArray();
        if (files.FirstOrDefault(f => !File.Exists(f)) is { } missing)
            throw new OnnxTransferException(
                $"{missing}: the speech front end '{name}' is not in the model cache; pull it once with `onnxtransfer pull {name}` " +
                "(or load the model with a front-end resolver, e.g. the OnnxTransfer package's BackboneRegistry.SpeechFrontEnd).");
        return new SpeechFrontEndFiles(files[0], files[1]);
    }
}
