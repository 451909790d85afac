using OnnxTransfer.Audio;
using OnnxTransfer.Tests.Audio;
using OnnxTransfer.WakeWords;
using OnnxTransfer.WakeWords.Synthesis;

namespace OnnxTransfer.Tests.WakeWords;

public class DetectorTests(SpeechFrontEndFixture fixture) : IClassFixture<SpeechFrontEndFixture>
{
    private const double Frame = 0.08;

    [Fact]
    public void Gate_PatienceAndDebounce_OnAHandSequence()
    {
        //                 0    1    2    3    4    5    6    7    8    9   10   11   12
        double[] scores = [0.9, 0.1, 0.6, 0.7, 0.8, 0.9, 0.2, 0.9, 0.9, 0.1, 0.1, 0.9, 0.9];
        var times = scores.Select((_, k) => (k + 1) * Frame).ToArray();
        // Patience 2: frame 3 completes two frames >= 0.5 (2,3) -> fires at 0.32 s; run restarts; 4,5 would fire at
        // 0.48 s but debounce 0.5 s blocks it (0.16 s later); 7,8 -> 0.72 s is 0.40 s later: blocked; 11,12 -> 1.04 s fires.
        var fired = DetectionGate.Detections(new DetectionSettings { Threshold = 0.5, Patience = 2, DebounceSeconds = 0.5 }, times, scores);
        Assert.Equal([0.32, 1.04], fired.Select(t => Math.Round(t, 2)));
        // Patience 1, no debounce: every frame at or above threshold fires.
        var every = DetectionGate.Detections(new DetectionSettings { Threshold = 0.5, Patience = 1, DebounceSeconds = 0 }, times, scores);
        Assert.Equal(scores.Count(s => s >= 0.5), every.Count);
    }

    [Fact]
    public void Detector_WithAnInjectedHead_FiresAtTheFrameTimes()
    {
        // Frames appear after 25 chunks (10 warm-up + 16 embeddings - 1): the first scored frame ends at 2.00 s.
        var head = new ScriptedScorer("fake", 0.1f, 0.9f, 0.95f, 0.2f, 0.99f, 0.99f, 0.99f, 0.1f, 0.1f, 0.1f, 0.1f, 0.1f, 0.1f, 0.1f, 0.1f, 0.1f, 0.1f, 0.1f, 0.1f, 0.1f, 0.7f, 0.7f);
        var detector = new WakeWordDetector(fixture.FrontEnd, [head], new DetectionSettings { Threshold = 0.5, Patience = 2, DebounceSeconds = 1.0 });
        var audio = new float[16000 * 4];
        var events = new List<WakeWordDetection>();
        // Odd piece sizes: the detector must cut chunks itself.
        for (var start = 0; start < audio.Length; start += 777)
            events.AddRange(detector.Push(audio.AsSpan(start, Math.Min(777, audio.Length - start))));
        // Frame k ends at 2.00 + 0.08 k. Fires: k=2 (frames 1,2 above) at 2.16; k=5 and 6 complete runs but fall
        // within the 1 s debounce (until 3.16); k=21 (frames 20,21) at 3.68 fires.
        Assert.Equal([2.16, 3.68], events.Select(e => Math.Round(e.Time, 2)));
        Assert.All(events, e => Assert.Equal("fake", e.WakeWord));
        Assert.Equal(0.95f, events[0].Score);
        Assert.Equal(audio.Length / 1280 - 24, head.Calls);
    }

    [Fact]
    public void SeveralHeads_ShareTheStream_AndEachFiresOnItsOwnScores()
    {
        var a = new ScriptedScorer("a", 0.9f);
        var b = new ScriptedScorer("b", 0.1f, 0.1f, 0.9f);
        var detector = new WakeWordDetector(fixture.FrontEnd, [a, b]);
        var events = detector.Push(new float[16000 * 3]);
        Assert.Equal([("a", 2.0), ("b", 2.16)], events.Select(e => (e.WakeWord, Math.Round(e.Time, 2))));
        Assert.Equal(a.Calls, b.Calls);
    }

    [Fact]
    public void PretrainedAlexa_FiresOnSpokenAlexa_NotOnSilenceOrNoise()
    {
        using var alexa = new WakeWordModel(SharedAssets.OpenWakeWord("alexa_v0.1.onnx"));
        Assert.Equal("alexa", alexa.Name);
        var speech = OnnxTransfer.Audio.SignalLevel.TrimSilence(new EspeakSynthesizer().Synthesize("alexa", new SynthesisVoice("espeak-ng", "en-us", 150 / 175.0)));
        var clip = new float[16000 * 3];
        speech.CopyTo(clip, 16000 * 2 - speech.Length);
        var detector = new WakeWordDetector(fixture.FrontEnd, [alexa], new DetectionSettings { Threshold = 0.5 });
        var found = detector.Push(clip);
        Assert.Single(found);
        Assert.InRange(found[0].Time, 2.0, 3.0);

        detector.Reset();
        var quiet = OnnxTransfer.Audio.Augmentation.NoiseMixer.Pink(16000 * 4, new OnnxTransfer.SeededRandom(3)).Select(v => v * 0.01f).ToArray();
        Assert.Empty(detector.Push(new float[16000 * 3]));
        Assert.Empty(detector.Push(quiet));
    }

    [Fact]
    public void VadGate_SilencesFramesWithoutSpeech()
    {
        using var vad = new VoiceActivityDetector(SharedAssets.OpenWakeWord("silero_vad.onnx"));
        var head = new ScriptedScorer("always", Enumerable.Repeat(0.99f, 100).ToArray());
        var detector = new WakeWordDetector(fixture.FrontEnd, [head], new DetectionSettings { VadThreshold = 0.5 }, vad);
        Assert.Empty(detector.Push(new float[16000 * 3])); // silence: VAD never opens
        Assert.Equal(0f, detector.LatestScores[0]);
        var speech = WavReader.Read(Directory.GetFiles(Path.Combine(SharedAssets.Dataset("speech_commands_subset"), "yes"), "*.wav").Order().First()).Samples;
        var found = detector.Push(speech);
        Assert.NotEmpty(found); // speech opens the gate; the head's 0.99 now counts
    }
}
