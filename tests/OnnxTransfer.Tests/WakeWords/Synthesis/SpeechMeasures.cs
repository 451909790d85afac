using System.Numerics;
using MathNet.Numerics.IntegralTransforms;
using OnnxTransfer.WakeWords;

namespace OnnxTransfer.Tests.WakeWords.Synthesis;

/// <summary>Simple, independent measurements of synthesized speech (16 kHz) for the engine tests.</summary>
internal static class SpeechMeasures
{
    public const int Rate = 16000;

    /// <summary>Seconds of speech once leading and trailing silence are trimmed.</summary>
    public static double SpeechSeconds(float[] audio) => OnnxTransfer.Audio.SignalLevel.TrimSilence(audio).Length / (double)Rate;

    /// <summary>Root mean square of the trimmed speech.</summary>
    public static double Rms(float[] audio) => Math.Sqrt(OnnxTransfer.Audio.SignalLevel.MeanSquare(OnnxTransfer.Audio.SignalLevel.TrimSilence(audio)));

    /// <summary>
    /// Long-term average spectrum of the speech: mean power per 31.25 Hz bin (512-point Hann frames, half
    /// overlap) from 125 Hz to 4 kHz, in dB relative to its own mean so loudness does not count.
    /// </summary>
    public static double[] AverageSpectrumDb(float[] audio)
    {
        const int n = 512, lo = 4, hi = 128;
        var speech = OnnxTransfer.Audio.SignalLevel.TrimSilence(audio);
        var power = new double[hi - lo];
        var buffer = new Complex[n];
        for (var s = 0; s + n <= speech.Length; s += n / 2)
        {
            for (var i = 0; i < n; i++) buffer[i] = speech[s + i] * (0.5 - 0.5 * Math.Cos(2 * Math.PI * i / n));
            Fourier.Forward(buffer, FourierOptions.NoScaling);
            for (var k = lo; k < hi; k++) power[k - lo] += buffer[k].Magnitude * buffer[k].Magnitude;
        }
        var db = power.Select(p => 10 * Math.Log10(p + 1e-12)).ToArray();
        var mean = db.Average();
        return db.Select(d => d - mean).ToArray();
    }

    /// <summary>Mean absolute difference (dB) between the average spectra of two utterances: a timbre distance.</summary>
    public static double SpectrumDistanceDb(float[] a, float[] b) =>
        AverageSpectrumDb(a).Zip(AverageSpectrumDb(b), (x, y) => Math.Abs(x - y)).Average();

    /// <summary>
    /// Median f0 (Hz) over voiced frames: 40 ms frames every 10 ms within 26 dB of the loudest, normalized
    /// autocorrelation peak between 60 and 400 Hz above 0.5. NaN when no frame is voiced.
    /// </summary>
    public static double MedianF0(float[] audio)
    {
        const int frame = 640, hop = 160, minLag = Rate / 400, maxLag = Rate / 60;
        var energies = new List<(int Start, double Energy)>();
        for (var s = 0; s + frame <= audio.Length; s += hop)
        {
            double e = 0;
            for (var i = 0; i < frame; i++) e += audio[s + i] * audio[s + i];
            energies.Add((s, e));
        }
        if (energies.Count == 0) return double.NaN;
        var loudest = energies.Max(x => x.Energy);
        var f0s = new List<double>();
        foreach (var (start, energy) in energies)
        {
            if (energy < loudest / 400) continue;
            var corr = new double[maxLag + 2];
            for (var lag = minLag; lag <= maxLag + 1; lag++)
            {
                double r = 0, e0 = 0, e1 = 0;
                for (var i = 0; i + lag < frame; i++)
                {
                    var a = audio[start + i];
                    var b = audio[start + i + lag];
                    r += a * b;
                    e0 += a * a;
                    e1 += b * b;
                }
                corr[lag] = r / Math.Sqrt(e0 * e1 + 1e-12);
            }
            var best = corr.Max();
            // The shortest lag that is a peak near the best: multiples of the period correlate as well (octave errors).
            var bestLag = 0;
            for (var lag = minLag + 1; lag <= maxLag && bestLag == 0; lag++)
                if (corr[lag] >= 0.9 * best && corr[lag] >= corr[lag - 1] && corr[lag] >= corr[lag + 1]) bestLag = lag;
            if (best > 0.5 && bestLag > 0) f0s.Add((double)Rate / bestLag);
        }
        if (f0s.Count == 0) return double.NaN;
        f0s.Sort();
        return f0s[f0s.Count / 2];
    }
}

public class SpeechMeasuresTests
{
    [Theory]
    [InlineData(90.0)]
    [InlineData(130.0)]
    [InlineData(220.0)]
    public void MedianF0_FindsThePitchOfAPulseTrainWithHarmonics(double f0)
    {
        // A glottal-like tone: harmonics falling off, so the first autocorrelation peak is the period, not a harmonic.
        var x = new float[SpeechMeasures.Rate];
        for (var i = 0; i < x.Length; i++)
        for (var h = 1; h <= 8; h++)
            x[i] += (float)(0.3 / h * Math.Sin(2 * Math.PI * f0 * h * i / SpeechMeasures.Rate + h));
        Assert.InRange(SpeechMeasures.MedianF0(x), f0 * 0.97, f0 * 1.03);
    }
}
