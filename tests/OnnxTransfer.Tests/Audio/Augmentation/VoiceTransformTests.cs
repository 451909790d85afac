using System.Numerics;
using MathNet.Numerics;
using MathNet.Numerics.IntegralTransforms;
using OnnxTransfer.Audio.Augmentation;
using Xunit.Abstractions;
using OnnxTransfer.Training.Engine;

namespace OnnxTransfer.Tests.Audio.Augmentation;

/// <summary>
/// Every property is measured with estimators written here (FFT peak, autocorrelation, LPC roots via
/// MathNet), not with the code under test.
/// </summary>
public class VoiceTransformTests(ITestOutputHelper output)
{
    private const int Rate = 16000;

    // ---- signals ---------------------------------------------------------------------------------------

    /// <summary>A sine of <paramref name="seconds"/> between two silences of <paramref name="gap"/> s, 10 ms ramps.</summary>
    private static float[] SineBurst(double frequency, double seconds, double gap)
    {
        var n = (int)Math.Round((seconds + 2 * gap) * Rate);
        int on = (int)Math.Round(gap * Rate), off = on + (int)Math.Round(seconds * Rate), ramp = Rate / 100;
        var x = new float[n];
        for (var i = on; i < off; i++)
        {
            var g = Math.Min(1.0, Math.Min(i - on, off - 1 - i) / (double)ramp);
            x[i] = (float)(0.5 * g * Math.Sin(2 * Math.PI * frequency * i / Rate));
        }
        return x;
    }

    private static readonly (double F, double B)[] VowelFormants = [(700, 80), (1200, 90), (2600, 150)];

    /// <summary>|H(f)| of a cascade of two-pole resonators (the vocal tract of the test vowel).</summary>
    private static double Envelope(double f, (double F, double B)[] formants)
    {
        var z = Complex.FromPolarCoordinates(1, -2 * Math.PI * f / Rate); // z⁻¹
        var h = 1.0;
        foreach (var (fc, bw) in formants)
        {
            var rad = Math.Exp(-Math.PI * bw / Rate);
            var a = 1 - 2 * rad * Math.Cos(2 * Math.PI * fc / Rate) * z + rad * rad * z * z;
            h /= a.Magnitude;
        }
        return h;
    }

    /// <summary>A steady vowel: every harmonic of <paramref name="f0"/> below 7 kHz weighted by the resonances.</summary>
    private static float[] Vowel(double f0, double seconds)
    {
        var n = (int)(seconds * Rate);
        var x = new double[n];
        for (var h = 1; h * f0 < 7000; h++)
        {
            var amp = Envelope(h * f0, VowelFormants);
            var phase = 0.7 * h * h; // not all in phase: a realistic crest factor
            for (var i = 0; i < n; i++) x[i] += amp * Math.Cos(2 * Math.PI * h * f0 * i / Rate + phase);
        }
        var peak = x.Max(Math.Abs);
        return x.Select(v => (float)(0.8 * v / peak)).ToArray();
    }

    // ---- estimators --------------------------------------------------------------------------------------

    /// <summary>Frequency of the strongest spectral peak: Hann window, 8× zero padding, parabolic interpolation of log |X|.</summary>
    private static double PeakFrequency(ReadOnlySpan<float> x)
    {
        var size = 1;
        while (size < 8 * x.Length) size <<= 1;
        var buf = new Complex[size];
        for (var i = 0; i < x.Length; i++)
            buf[i] = x[i] * (0.5 - 0.5 * Math.Cos(2 * Math.PI * i / (x.Length - 1)));
        Fourier.Forward(buf, FourierOptions.AsymmetricScaling);
        var k = 1;
        for (var i = 2; i < size / 2 - 1; i++) if (buf[i].Magnitude > buf[k].Magnitude) k = i;
        double a = Math.Log(buf[k - 1].Magnitude), b = Math.Log(buf[k].Magnitude), c = Math.Log(buf[k + 1].Magnitude);
        var delta = 0.5 * (a - c) / (a - 2 * b + c);
        return (k + delta) * Rate / size;
    }

    /// <summary>f0 from the biased autocorrelation's first strong peak for periods 2.5–16 ms, parabolically refined.</summary>
    private static double AutocorrelationF0(ReadOnlySpan<float> x)
    {
        int minLag = Rate / 400, maxLag = Rate / 60;
        var r = new double[maxLag + 2];
        for (var lag = minLag - 1; lag <= maxLag + 1; lag++)
        {
            double s = 0;
            for (var i = 0; i + lag < x.Length; i++) s += (double)x[i] * x[i + lag];
            r[lag] = s;
        }
        // The first local maximum within 10 % of the highest: integer lags sample a fractional period's peak
        // off-centre, so two periods can edge out one; taking the earliest strong peak avoids halving f0.
        var highest = r.AsSpan(minLag, maxLag - minLag + 1).ToArray().Max();
        var best = minLag;
        while (!(r[best] >= 0.9 * highest && r[best] >= r[best - 1] && r[best] >= r[best + 1])) best++;
        var delta = 0.5 * (r[best - 1] - r[best + 1]) / (r[best - 1] - 2 * r[best] + r[best + 1]);
        return Rate / (best + delta);
    }

    /// <summary>
    /// Formant frequencies of <paramref name="x"/>: order-8 autocorrelation LPC (Hamming window, own Levinson in
    /// double), roots of A(z) with MathNet, poles with bandwidth &lt; 400 Hz, ascending.
    /// </summary>
    private static double[] LpcFormants(ReadOnlySpan<float> x, int order = 8)
    {
        var w = new double[x.Length];
        for (var i = 0; i < x.Length; i++) w[i] = x[i] * (0.54 - 0.46 * Math.Cos(2 * Math.PI * i / (x.Length - 1)));
        var r = new double[order + 1];
        for (var k = 0; k <= order; k++)
            for (var i = 0; i + k < w.Length; i++) r[k] += w[i] * w[i + k];
        var a = new double[order + 1];
        a[0] = 1;
        var err = r[0];
        for (var i = 1; i <= order; i++)
        {
            var acc = r[i];
            for (var j = 1; j < i; j++) acc += a[j] * r[i - j];
            var k = -acc / err;
            var prev = (double[])a.Clone();
            for (var j = 1; j < i; j++) a[j] = prev[j] + k * prev[i - j];
            a[i] = k;
            err *= 1 - k * k;
        }
        // zᵖ·A(z) = zᵖ + a1 zᵖ⁻¹ + … + ap: MathNet wants ascending powers.
        var roots = new Polynomial(a.Reverse().ToArray()).Roots();
        return roots
            .Where(z => z.Imaginary > 0)
            .Select(z => (F: z.Phase * Rate / (2 * Math.PI), B: -Math.Log(z.Magnitude) * Rate / Math.PI))
            .Where(p => p.B < 400 && p.F > 150)
            .Select(p => p.F)
            .Order()
            .ToArray();
    }

    /// <summary>Seconds between the first and last 5 ms RMS frame above half the highest frame RMS.</summary>
    private static double BurstSeconds(ReadOnlySpan<float> x)
    {
        const int frame = Rate / 200;
        var rms = new double[x.Length / frame];
        for (var f = 0; f < rms.Length; f++)
        {
            double s = 0;
            for (var i = 0; i < frame; i++) s += (double)x[f * frame + i] * x[f * frame + i];
            rms[f] = Math.Sqrt(s / frame);
        }
        var threshold = 0.5 * rms.Max();
        int first = Array.FindIndex(rms, v => v > threshold), last = Array.FindLastIndex(rms, v => v > threshold);
        // Refine both edges linearly between frames for sub-frame precision.
        double Edge(int inside, int outside) =>
            inside + (rms[inside] - threshold) / (rms[inside] - rms[outside]) * (outside - inside);
        return (Edge(last, last + 1) - Edge(first, first - 1)) * frame / Rate;
    }

    private static ReadOnlySpan<float> Middle(float[] x, double fraction)
    {
        var keep = (int)(x.Length * fraction);
        return x.AsSpan((x.Length - keep) / 2, keep);
    }

    // ---- pitch -------------------------------------------------------------------------------------------

    [Theory]
    [InlineData(1.25)]
    [InlineData(0.8)]
    [InlineData(1.5)]
    public void Pitch_moves_a_sine_by_the_ratio_and_keeps_its_duration(double ratio)
    {
        // 1 s: onsets come out a few ms sharper or softer, which must stay small against 1 % of the duration.
        var x = SineBurst(220, 1.0, 0.25);
        var y = new VoiceTransform(PitchRatio: ratio).Apply(x);

        Assert.Equal(x.Length, y.Length);
        var f = PeakFrequency(Middle(y, 0.4));
        var duration = BurstSeconds(y) / BurstSeconds(x);
        output.WriteLine($"pitch {ratio}: {f:F2} Hz (target {220 * ratio:F2}, error {100 * (f / (220 * ratio) - 1):F3} %), burst duration × {duration:F4}");
        Assert.InRange(f / (220 * ratio), 0.99, 1.01);
        Assert.InRange(duration, 0.99, 1.01);
    }

    [Fact]
    public void Pitch_moves_f0_of_a_vowel_but_not_its_formants()
    {
        var x = Vowel(120, 1.0);
        var y = new VoiceTransform(PitchRatio: 1.25).Apply(x);

        Assert.InRange(AutocorrelationF0(Middle(y, 0.6)) / 150, 0.98, 1.02);
        var before = LpcFormants(Middle(x, 0.6));
        var after = LpcFormants(Middle(y, 0.6));
        Report("pitch 1.25 vowel", x, y, before, after);
        Assert.InRange(before[0] / 700, 0.95, 1.05); // the estimator itself is sound on the input
        Assert.InRange(Nearest(after, before[0]) / before[0], 0.92, 1.08);
        Assert.InRange(Nearest(after, before[1]) / before[1], 0.92, 1.08);
    }

    // ---- tempo -------------------------------------------------------------------------------------------

    [Theory]
    [InlineData(1.25)]
    [InlineData(0.8)]
    [InlineData(0.6)]
    public void Tempo_scales_duration_and_keeps_frequency(double ratio)
    {
        // 1 s: WSOLA places each edge within its ±8 ms search of the nominal time; 2 % must cover that.
        var x = SineBurst(440, 1.0, 0.25);
        var y = new VoiceTransform(TempoRatio: ratio).Apply(x);

        Assert.Equal((int)Math.Round(x.Length / ratio), y.Length);
        var duration = BurstSeconds(y) / (BurstSeconds(x) / ratio);
        var f = PeakFrequency(Middle(y, 0.4));
        output.WriteLine($"tempo {ratio}: burst duration / target {duration:F4}, frequency {f:F2} Hz (440)");
        Assert.InRange(duration, 0.98, 1.02);
        Assert.InRange(f / 440, 0.99, 1.01);
    }

    [Fact]
    public void Tempo_keeps_f0_and_formants_of_a_vowel()
    {
        var x = Vowel(120, 1.0);
        var y = new VoiceTransform(TempoRatio: 0.8).Apply(x);

        Assert.InRange(AutocorrelationF0(Middle(y, 0.6)) / 120, 0.98, 1.02);
        var before = LpcFormants(Middle(x, 0.6));
        var after = LpcFormants(Middle(y, 0.6));
        Report("tempo 0.8 vowel", x, y, before, after);
        Assert.InRange(Nearest(after, before[0]) / before[0], 0.95, 1.05);
        Assert.InRange(Nearest(after, before[1]) / before[1], 0.95, 1.05);
    }

    // ---- formants ----------------------------------------------------------------------------------------

    [Theory]
    [InlineData(1.2)]
    [InlineData(0.85)]
    public void Formant_ratio_moves_the_envelope_peaks_and_keeps_f0(double ratio)
    {
        var x = Vowel(120, 1.0);
        var y = new VoiceTransform(FormantRatio: ratio).Apply(x);

        Assert.Equal(x.Length, y.Length);
        Assert.InRange(AutocorrelationF0(Middle(y, 0.6)) / 120, 0.98, 1.02);
        var before = LpcFormants(Middle(x, 0.6));
        var after = LpcFormants(Middle(y, 0.6));
        Report($"formant {ratio} vowel", x, y, before, after);
        Assert.InRange(before[0] / 700, 0.95, 1.05);
        Assert.InRange(before[1] / 1200, 0.95, 1.05);
        Assert.InRange(Nearest(after, before[0] * ratio) / (before[0] * ratio), 0.92, 1.08);
        Assert.InRange(Nearest(after, before[1] * ratio) / (before[1] * ratio), 0.92, 1.08);
    }

    [Fact]
    public void All_three_together_hit_their_targets()
    {
        var x = Vowel(120, 1.0);
        var y = new VoiceTransform(PitchRatio: 1.3, FormantRatio: 1.15, TempoRatio: 0.85).Apply(x);

        Assert.Equal((int)Math.Round(x.Length / 0.85), y.Length);
        Assert.InRange(AutocorrelationF0(Middle(y, 0.6)) / (120 * 1.3), 0.98, 1.02);
        var before = LpcFormants(Middle(x, 0.6));
        var after = LpcFormants(Middle(y, 0.6));
        Report("pitch 1.3 formant 1.15 tempo 0.85 vowel", x, y, before, after);
        Assert.InRange(Nearest(after, before[0] * 1.15) / (before[0] * 1.15), 0.92, 1.08);
        Assert.InRange(Nearest(after, before[1] * 1.15) / (before[1] * 1.15), 0.92, 1.08);
    }

    private void Report(string name, float[] x, float[] y, double[] before, double[] after) =>
        output.WriteLine($"{name}: f0 {AutocorrelationF0(Middle(x, 0.6)):F2} -> {AutocorrelationF0(Middle(y, 0.6)):F2} Hz; " +
                         $"formants [{string.Join(", ", before.Select(f => f.ToString("F0")))}] -> [{string.Join(", ", after.Select(f => f.ToString("F0")))}] Hz");

    private static double Nearest(double[] values, double target) => values.MinBy(v => Math.Abs(v - target));

    // ---- output contract ---------------------------------------------------------------------------------

    [Fact]
    public void Identity_returns_an_equal_copy()
    {
        var x = Vowel(120, 0.3);
        var y = VoiceTransform.Identity.Apply(x);
        Assert.NotSame(x, y);
        Assert.Equal(x, y);
    }

    [Fact]
    public void Internal_stages_at_ratio_one_reconstruct_the_input()
    {
        var x = Vowel(133, 0.5);
        var formant = FormantShift.Apply(x, 1.0, Rate);
        var tempo = TimeStretch.Apply(x, 1.0, Rate);
        for (var i = 0; i < x.Length; i++)
        {
            Assert.True(Math.Abs(formant[i] - x[i]) < 1e-3, $"formant stage differs at {i}: {formant[i]} vs {x[i]}");
            Assert.True(Math.Abs(tempo[i] - x[i]) < 1e-3, $"tempo stage differs at {i}: {tempo[i]} vs {x[i]}");
        }
    }

    [Fact]
    public void Output_is_finite_peak_matched_and_faded_at_both_ends()
    {
        var rng = new SeededRandom(7);
        // Loud at both edges: without fades the cut would click.
        var x = Vowel(180, 0.8).Select(v => v + (float)(0.05 * rng.NextGaussian())).ToArray();
        var peak = x.Max(Math.Abs);
        for (var trial = 0; trial < 6; trial++)
        {
            var t = VoiceTransform.Random(rng, new VoiceTransformRanges(0.5, 2, 0.7, 1.4, 0.5, 2));
            var y = t.Apply(x);
            Assert.All(y, v => Assert.True(float.IsFinite(v)));
            Assert.Equal(peak, y.Max(Math.Abs), 4);
            Assert.True(Math.Abs(y[0]) < 0.01 * peak && Math.Abs(y[^1]) < 0.01 * peak, $"edges {y[0]}, {y[^1]} for {t}");
        }
    }

    [Fact]
    public void Silence_and_empty_input_stay_silent_and_finite()
    {
        Assert.Empty(new VoiceTransform(1.2, 0.9, 1.1).Apply([]));
        var y = new VoiceTransform(1.2, 0.9, 1.1).Apply(new float[8000]);
        Assert.Equal((int)Math.Round(8000 / 1.1), y.Length);
        Assert.All(y, v => Assert.Equal(0f, v));
    }

    // ---- random ------------------------------------------------------------------------------------------

    [Fact]
    public void Random_is_deterministic_per_seed_and_inside_the_ranges()
    {
        var r1 = new SeededRandom(42);
        var r2 = new SeededRandom(42);
        var r3 = new SeededRandom(43);
        var first = Enumerable.Range(0, 50).Select(_ => VoiceTransform.Random(r1)).ToList();
        var second = Enumerable.Range(0, 50).Select(_ => VoiceTransform.Random(r2)).ToList();
        var other = Enumerable.Range(0, 50).Select(_ => VoiceTransform.Random(r3)).ToList();

        Assert.Equal(first, second);
        Assert.NotEqual(first, other);
        var d = VoiceTransformRanges.Default;
        Assert.All(first, t =>
        {
            Assert.InRange(t.PitchRatio, d.MinPitch, d.MaxPitch);
            Assert.InRange(t.FormantRatio, d.MinFormant, d.MaxFormant);
            Assert.InRange(t.TempoRatio, d.MinTempo, d.MaxTempo);
        });
    }

    [Fact]
    public void Random_draws_log_uniformly()
    {
        // Over [0.5, 2] log-uniform puts half the draws below 1; uniform would put a third there.
        var rng = new SeededRandom(1);
        var ranges = new VoiceTransformRanges(0.5, 2, 0.7, 1.4, 0.5, 2);
        var draws = Enumerable.Range(0, 4000).Select(_ => VoiceTransform.Random(rng, ranges)).ToList();
        Assert.InRange(draws.Count(t => t.PitchRatio < 1) / 4000.0, 0.47, 0.53);
        Assert.InRange(draws.Count(t => t.TempoRatio < 1) / 4000.0, 0.47, 0.53);
        Assert.InRange(draws.Count(t => t.FormantRatio < Math.Sqrt(0.7 * 1.4)) / 4000.0, 0.47, 0.53);
    }

    // ---- validation --------------------------------------------------------------------------------------

    [Theory]
    [InlineData(0.4, 1, 1, "PitchRatio")]
    [InlineData(2.1, 1, 1, "PitchRatio")]
    [InlineData(1, 0.6, 1, "FormantRatio")]
    [InlineData(1, 1.5, 1, "FormantRatio")]
    [InlineData(1, 1, 0.4, "TempoRatio")]
    [InlineData(1, 1, 2.5, "TempoRatio")]
    [InlineData(double.NaN, 1, 1, "PitchRatio")]
    public void Out_of_range_ratios_are_rejected_naming_the_value(double pitch, double formant, double tempo, string name)
    {
        var e = Assert.Throws<OnnxTransferException>(() => new VoiceTransform(pitch, formant, tempo));
        Assert.Contains(name, e.Message);
        Assert.DoesNotContain('\n', e.Message);
    }

    [Fact]
    public void With_expressions_are_validated_too()
    {
        var e = Assert.Throws<OnnxTransferException>(() => VoiceTransform.Identity with { FormantRatio = 3 });
        Assert.Contains("FormantRatio 3", e.Message);
    }

    [Fact]
    public void Bad_ranges_and_inputs_are_rejected()
    {
        var rng = new SeededRandom(1);
        Assert.Contains("MinPitch", Assert.Throws<OnnxTransferException>(() => VoiceTransform.Random(rng, new VoiceTransformRanges(MinPitch: 1.4, MaxPitch: 1.2))).Message);
        Assert.Contains("MaxTempo", Assert.Throws<OnnxTransferException>(() => VoiceTransform.Random(rng, new VoiceTransformRanges(MaxTempo: 3))).Message);
        Assert.Contains("sample 2", Assert.Throws<OnnxTransferException>(() => new VoiceTransform(1.1).Apply([0, 0, float.NaN, 0])).Message);
        Assert.Contains("4000 Hz", Assert.Throws<OnnxTransferException>(() => new VoiceTransform(1.1).Apply(new float[100], 4000)).Message);
    }
}
