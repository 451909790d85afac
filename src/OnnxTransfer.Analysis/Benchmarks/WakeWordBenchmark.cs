using System.Diagnostics;
using OnnxTransfer.Audio;
using OnnxTransfer.WakeWords;

namespace OnnxTransfer.Benchmarks;

/// <summary>Streaming cost measured by <see cref="WakeWordBenchmark.Measure"/>.</summary>
/// <param name="AudioSeconds">Audio streamed per run.</param>
/// <param name="OneHeadSeconds">Wall time with the front end and the first head.</param>
/// <param name="AllHeadsSeconds">Wall time with every head.</param>
/// <param name="Heads">Heads in the second run.</param>
public sealed record WakeWordBenchmarkResult(double AudioSeconds, double OneHeadSeconds, double AllHeadsSeconds, int Heads)
{
    /// <summary>Real-time factor with one head (processing time / audio time).</summary>
    public double OneHeadRtf => OneHeadSeconds / AudioSeconds;
    /// <summary>Added real-time factor per extra head.</summary>
    public double ExtraHeadRtf => Heads > 1 ? (AllHeadsSeconds - OneHeadSeconds) / (Heads - 1) / AudioSeconds : 0;
    /// <summary>Milliseconds per 80 ms chunk with one head.</summary>
    public double MillisecondsPerChunk => OneHeadSeconds * 1000 / (AudioSeconds * SpeechFrontEnd.SampleRate / SpeechFrontEnd.ChunkSamples);
}

/// <summary>Times streaming detection on the calling thread (the front end's sessions should be single-threaded).</summary>
public static class WakeWordBenchmark
{
    /// <summary>Streams <paramref name="audio"/> (16 kHz) in 80 ms pieces with the first head, then with all heads.</summary>
    public static WakeWordBenchmarkResult Measure(SpeechFrontEnd frontEnd, IReadOnlyList<IWakeWordScorer> heads, float[] audio)
    {
        if (heads.Count == 0) throw new OnnxTransferException("benchmark: pass at least one wake-word model.");
        Run(frontEnd, heads, audio[..Math.Min(audio.Length, SpeechFrontEnd.SampleRate * 2)]); // warm-up (session allocations)
        var one = Run(frontEnd, [heads[0]], audio);
        var all = heads.Count > 1 ? Run(frontEnd, heads, audio) : one;
        return new WakeWordBenchmarkResult((double)audio.Length / SpeechFrontEnd.SampleRate, one, all, heads.Count);
    }

    private static double Run(SpeechFrontEnd frontEnd, IReadOnlyList<IWakeWordScorer> heads, float[] audio)
    {
        var detector = new WakeWordDetector(frontEnd, heads, new DetectionSettings());
        var watch = Stopwatch.StartNew();
        for (var start = 0; start < audio.Length; start += SpeechFrontEnd.ChunkSamples)
            detector.Push(audio.AsSpan(start, Math.Min(SpeechFrontEnd.ChunkSamples, audio.Length - start)));
        return watch.Elapsed.TotalSeconds;
    }
}
