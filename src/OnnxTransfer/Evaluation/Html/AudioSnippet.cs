using OnnxTransfer.Audio;

namespace OnnxTransfer.Evaluation.Html;

/// <summary>Short embedded audio clips (16 kHz 16-bit mono WAV as a data URI), so a report plays what it lists.</summary>
internal static class AudioSnippet
{
    /// <summary>The sample rate of embedded snippets (what the speech front end hears).</summary>
    public const int SampleRate = 16000;

    /// <summary>
    /// <paramref name="seconds"/> of <paramref name="path"/> starting at <paramref name="start"/> seconds (clamped to the file) as a
    /// <c>data:audio/wav;base64,...</c> URI; null when the file cannot be read.
    /// </summary>
    public static string? WavDataUri(string path, double start = 0, double seconds = 1.5)
    {
        try
        {
            var samples = WavReader.Read(path).ResampleTo(SampleRate).Samples;
            return FromSamples(samples, start, seconds);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or OnnxTransferException)
        {
            return null;
        }
    }

    /// <summary>As <see cref="WavDataUri"/>, from samples at <see cref="SampleRate"/>.</summary>
    public static string FromSamples(float[] samples, double start, double seconds)
    {
        var length = Math.Min(samples.Length, (int)(seconds * SampleRate));
        var from = Math.Clamp((int)(start * SampleRate), 0, samples.Length - length);
        return "data:audio/wav;base64," + Convert.ToBase64String(WavWriter.Encode(samples.AsSpan(from, length), SampleRate));
    }
}
