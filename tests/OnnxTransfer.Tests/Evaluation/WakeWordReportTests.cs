using System.Globalization;
using OnnxTransfer.Audio;
using OnnxTransfer.Tests.WakeWords;
using OnnxTransfer.WakeWords;

namespace OnnxTransfer.Tests.Evaluation;

/// <summary>The wake-word report.html in headless Chromium: the DET slider shows the FRR and FA/h computed in C#, and the clips play.</summary>
public class WakeWordReportTests
{
    private static string Tone(TempDir dir, string name, double seconds, double hz)
    {
        var samples = Enumerable.Range(0, (int)(seconds * 16000)).Select(i => (float)(0.3 * Math.Sin(2 * Math.PI * hz * i / 16000))).ToArray();
        var path = dir.File(name);
        WavWriter.Write(path, samples, 16000);
        return path;
    }

    // Embeddings [E,96] whose windows score the given values under EmbeddingValueScorer (window k ends at embedding k + 15).
    private static float[] Embeddings(params float[] frameScores)
    {
        var e = new float[(frameScores.Length + 15) * 96];
        for (var k = 0; k < frameScores.Length; k++) e[(k + 15) * 96] = frameScores[k];
        return e;
    }

    [Fact]
    public async Task Det_slider_shows_the_false_reject_rate_and_false_accepts_per_hour_computed_in_CSharp_and_the_clips_play()
    {
        using var dir = new TempDir();
        float[] positiveScores = [0.95f, 0.9f, 0.85f, 0.8f, 0.72f, 0.66f, 0.58f, 0.45f, 0.35f, 0.2f, 0.97f, 0.61f];
        var positives = positiveScores.Select((s, i) => Tone(dir, $"pos_{i:D2}.wav", 1.0, 300 + 20 * i)).ToArray();
        var negatives = new[] { Tone(dir, "neg_a.wav", 20, 180), Tone(dir, "neg_b.wav", 20, 240) };
        // One negative stream: spikes far apart (beyond the debounce) at several heights.
        var stream = new float[400];
        foreach (var (frame, score) in new[] { (30, 0.93f), (80, 0.75f), (140, 0.62f), (200, 0.55f), (260, 0.4f), (330, 0.3f) }) stream[frame] = score;
        var audio = new WakeWordEvaluationAudio(positives, positiveScores.Select(s => Embeddings(s, s * 0.5f)).ToArray(),
            ["negatives"], [Embeddings(stream)], 40, [negatives]) { NegativeFileStarts = [[0, 20]] };
        var result = WakeWordEvaluator.Evaluate(new EmbeddingValueScorer(), "probe.onnx", audio);
        Assert.NotEmpty(result.FalseAccepts);
        WakeWordEvaluator.WriteReport(dir.File("report"), [result], audio);

        await using var browser = await HeadlessChromium.StartAsync();
        await browser.OpenAsync(dir.File("report/report.html"));
        foreach (var threshold in new[] { 0.3, 0.5, 0.7, 0.95 })
        {
            var index = result.Det.ToList().FindIndex(p => Math.Abs(p.Threshold - threshold) < 1e-9);
            var shown = await browser.EvaluateAsync<string[]>(
                $"(() => {{ const s = document.querySelector('#ww-0 .ww-slider'); s.value = '{index}'; s.dispatchEvent(new Event('input')); " +
                "return ['.ww-threshold', '.ww-frr', '.ww-fah', '.ww-fr-count'].map(q => document.querySelector('#ww-0 ' + q).textContent); })()");
            var point = result.Det[index];
            Assert.Equal(point.Threshold, double.Parse(shown[0], CultureInfo.InvariantCulture));
            Assert.Equal(100 * point.FalseRejectRate, double.Parse(shown[1].TrimEnd('%'), CultureInfo.InvariantCulture), 0.051);
            Assert.Equal(point.FalseAcceptsPerHour, double.Parse(shown[2], CultureInfo.InvariantCulture), 0.0051);
            Assert.Equal($"({positiveScores.Count(s => s < threshold)} of {positiveScores.Length})", shown[3]);
        }
        Assert.True(result.Det.Select(p => p.FalseAcceptsPerHour).Distinct().Count() > 2, "the synthetic stream should give several FA/h levels");

        // Each false accept at the operating threshold is listed with a playable snippet of the negative audio.
        Assert.Equal(result.FalseAccepts.Count, await browser.EvaluateAsync<int>("document.querySelectorAll('#ww-0 .clip.fa').length"));
        const string Duration = "(async q => { const a = document.querySelector(q); a.preload = 'auto'; " +
            "return await new Promise(r => { a.onloadedmetadata = () => r(a.duration); a.onerror = () => r(-1); a.load(); }); })";
        Assert.Equal(WakeWordReportPage.ClipSeconds, await browser.EvaluateAsync<double>($"{Duration}('#ww-0 .clip.fa audio')"), 0.01);
        Assert.Equal(1.0, await browser.EvaluateAsync<double>($"{Duration}('#ww-0 .clip.fr audio')"), 0.01);

        await browser.ScreenshotAsync(HtmlReportTests.ScreenshotPath("report-wakeword.png"), height: 1100);
        Assert.Empty(browser.Errors);
    }
}
