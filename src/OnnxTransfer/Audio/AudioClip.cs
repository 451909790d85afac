namespace OnnxTransfer.Audio;

/// <summary>Mono audio: samples nominally in [-1,1] (float sources may exceed it) at <paramref name="SampleRate"/> Hz.</summary>
/// <param name="Samples">The samples, one per frame (multi-channel sources are already mixed down).</param>
/// <param name="SampleRate">Samples per second.</param>
public sealed record AudioClip(float[] Samples, int SampleRate)
{
    /// <summary>Length in seconds.</summary>
    public double Duration => SampleRate > 0 ? (double)Samples.Length / SampleRate : 0;

    /// <summary>This clip at <paramref name="sampleRate"/> (itself when the rate already matches).</summary>
    public AudioClip ResampleTo(int sampleRate) =>
        sampleRate == SampleRate ? this : new AudioClip(Resampler.For(SampleRate, sampleRate).Process(Samples), sampleRate);
}
