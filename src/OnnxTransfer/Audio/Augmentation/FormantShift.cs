using System.Numerics;
using System.Numerics.Tensors;
using NWaves.Transforms;
using NWaves.Utils;

namespace OnnxTransfer.Audio.Augmentation;

/// <summary>
/// Scales the spectral envelope (formants) along frequency while leaving the harmonics, hence f0, and the
/// duration where they are: vocal-tract-length perturbation on a waveform.
/// </summary>
/// <remarks>
/// STFT with 32 ms periodic-Hann frames at a quarter-frame hop (analysis and synthesis window; Σw² = 1.5).
/// Per frame an all-pole (LPC) envelope E is fitted and every bin is multiplied by the real gain
/// E(f / ratio) / E(f), keeping its phase: the fine structure X/E stays at f and takes the envelope value
/// from f / ratio. LPC rather than a liftered cepstrum because its peaks follow the harmonic peaks at
/// formants: a cepstral lifter short enough to ignore a 300 Hz voice's harmonics (≈ 1.8 ms) smears 700 Hz
/// and 1200 Hz into one hump, and that hump's move leaves the formant peaks themselves largely in place.
/// A Gaussian lag window (60 Hz) and a −40 dB white-noise floor keep the fit from locking onto single
/// harmonics and keep it stable; the gain is limited to ±40 dB so silent frames cannot blow up. No pole
/// bandwidth expansion: widening the envelope's peaks by 100 Hz left the sharp formant peaks in the fine
/// structure X/E, and formants then moved only 1.14 of a requested 1.2 (and 1.11 with a 1.25 pitch shift
/// that should keep them). The price: a narrow noise resonance in a fricative moves as a narrow band.
/// </remarks>
internal static class FormantShift
{
    private const double LagWindowHz = 60;
    private const float NoiseFloor = 1e-4f;   // added to R[0]: −40 dB white-noise correction
    private const float MaxGain = 100f;       // ±40 dB

    /// <summary>Returns <paramref name="x"/> with its spectral envelope stretched by <paramref name="ratio"/> (&gt; 1 = formants up).</summary>
    public static float[] Apply(ReadOnlySpan<float> x, double ratio, int sampleRate)
    {
        var n = (int)BitOperations.RoundUpToPowerOf2((uint)Math.Max(64, (int)Math.Round(0.032 * sampleRate)));
        var hop = n / 4;
        var bins = n / 2 + 1;
        var order = Math.Clamp(sampleRate / 1000 + 2, 8, 48);

        var window = new float[n];
        for (var i = 0; i < n; i++) window[i] = (float)(0.5 - 0.5 * Math.Cos(2 * Math.PI * i / n));
        var lag = new float[order + 1];
        for (var k = 0; k <= order; k++)
        {
            var t = 2 * Math.PI * LagWindowHz * k / sampleRate;
            lag[k] = (float)Math.Exp(-0.5 * t * t);
        }
        lag[0] = 1 + NoiseFloor;

        // |A|² is read from a 2n-point FFT of the LPC polynomial: bin j of the frame is bin 2j there, and the
        // warped frequency j/ratio is interpolated between two bins 1/4 of a frame bin apart (smooth enough
        // for an all-pole envelope whose peaks are ≥ 60 Hz wide).
        var warpedIndex = new float[bins];
        for (var j = 0; j < bins; j++) warpedIndex[j] = (float)Math.Min(2.0 * j / ratio, n);

        // n zeros on each side: every input sample is then covered by all four overlapping frames.
        var padded = new float[x.Length + 2 * n];
        x.CopyTo(padded.AsSpan(n));
        var acc = new float[padded.Length];

        var fft = new RealFft(n);
        var polyFft = new RealFft(2 * n);
        float[] frame = new float[n], re = new float[bins], im = new float[bins], output = new float[n];
        float[] r = new float[order + 1], a = new float[order + 1];
        float[] poly = new float[2 * n], polyRe = new float[n + 1], polyIm = new float[n + 1], power = new float[n + 1];

        for (var start = 0; start + n <= padded.Length; start += hop)
        {
            TensorPrimitives.Multiply(padded.AsSpan(start, n), window, frame);
            for (var k = 0; k <= order; k++)
                r[k] = TensorPrimitives.Dot(frame.AsSpan(0, n - k), frame.AsSpan(k)) * lag[k];

            if (r[0] > 1e-9f)
            {
                Array.Clear(a); // Levinson-Durbin updates a[i] in place from its previous value
                Lpc.LevinsonDurbin(r, a, order);
                Array.Clear(poly);
                a.CopyTo(poly, 0);
                polyFft.Direct(poly, polyRe, polyIm);
                for (var m = 0; m <= n; m++) power[m] = polyRe[m] * polyRe[m] + polyIm[m] * polyIm[m];

                fft.Direct(frame, re, im);
                for (var j = 0; j < bins; j++)
                {
                    var w = warpedIndex[j];
                    var m0 = Math.Min((int)w, n - 1);
                    var f = w - m0;
                    var warped = power[m0] + f * (power[m0 + 1] - power[m0]);
                    // E(f/ratio)/E(f) = |A(f)| / |A(f/ratio)| for E = g/|A|.
                    var gain = MathF.Sqrt(power[2 * j] / Math.Max(warped, 1e-20f));
                    gain = Math.Clamp(gain, 1 / MaxGain, MaxGain);
                    re[j] *= gain;
                    im[j] *= gain;
                }
                fft.InverseNorm(re, im, output);
            }
            else
            {
                frame.CopyTo(output, 0); // silence: nothing to shape, pass the frame through
            }

            var dst = acc.AsSpan(start, n);
            for (var i = 0; i < n; i++) dst[i] += output[i] * window[i];
        }

        var result = acc.AsSpan(n, x.Length).ToArray();
        TensorPrimitives.Multiply(result, 1 / 1.5f, result); // Σ hann² over four quarter-hop frames = 1.5
        return result;
    }
}
