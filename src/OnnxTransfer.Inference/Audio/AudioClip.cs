namespace OnnxTransfer.Audio;

/// <summary>Mono audio: samples nominally in [-1,1] (float sources may exceed it) at <paramref name="SampleRate"/> Hz.</summary>
/// <param name="Samples">The samples, one per frame (multi-channel sources are already mixed down).</param>
/// <param name="SampleRate">Samples per second.</param>
internal sealed record AudioClip(float[] Samples, int SampleRate)
{
    /// <summary>Length in seconds.</summary>
    public double Duration => SampleRate > 0 ? (double)Samples.Length / SampleRate : 0;

    /// <summary>This clip at <paramref name="sampleRate"/> (itself when the rate already matches).</summary>
    public AudioClip ResampleTo(int sampleRate) =>
        sampleRate == SampleRate ? this : new AudioClip(Resampler.For(SampleRate, sampleRate).Process(Samples), sampleRate);

    /// <summary>
    /// <paramref name="clips"/> back to back at <paramref name="sampleRate"/> (each resampled first), and where each
    /// one starts in seconds — e.g. a test recording with a wake word between other sounds, to check detection times.
    /// </summary>
    public static (AudioClip Clip, double[] Starts) Concatenate(IReadOnlyList<AudioClip> clips, int sampleRate)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(sampleRate, 1);
        var parts = clips.Select(c => c.ResampleTo(sampleRate).Samples).ToArray();
        var samples = new float[parts.Sum(p => (long)p.Length)];
        var starts = new double[parts.Length];
        var offset = 0;
        for (var i = 0; i < parts.Length; i++)
        {
            starts[i] = (double)offset / sampleRate;
            parts[i].CopyTo(samples, offset);
            offset += parts[i].Length;
        }
        return (new AudioClip(samples, sampleRate), starts);
    }
}
