using System.Diagnostics;
using OnnxTransfer.Audio;
using OnnxTransfer.WakeWords;
using Xunit.Abstractions;

namespace OnnxTransfer.Tests.WakeWords;

/// <summary>The streaming detector over a front end, heads and a VAD that are disposed before or during use.</summary>
public class DetectorLifetimeTests(ITestOutputHelper log)
{
    private static SpeechFrontEnd NewFrontEnd() =>
        new(SharedAssets.OpenWakeWord("melspectrogram.onnx"), SharedAssets.OpenWakeWord("embedding_model.onnx"));

    private static float[] Noise(int samples) =>
        OnnxTransfer.Audio.Augmentation.NoiseMixer.Pink(samples, new SeededRandom(5)).Select(v => v * 0.1f).ToArray();

    [Fact]
    public void Push_after_the_front_end_head_or_VAD_is_disposed_throws_ObjectDisposedException()
    {
        var audio = Noise(16000 * 2);
        using (var frontEnd = NewFrontEnd())
        using (var alexa = new WakeWordModel(SharedAssets.OpenWakeWord("alexa_v0.1.onnx")))
        {
            var detector = new WakeWordDetector(frontEnd, [alexa]);
            detector.Push(audio);
            Assert.True(detector.LatestScores[0] >= 0);
            alexa.Dispose();
            Assert.Equal(nameof(WakeWordModel), Assert.Throws<ObjectDisposedException>(() => detector.Push(audio)).ObjectName);
            Assert.Throws<ObjectDisposedException>(() => alexa.Score(new float[16 * 96], new float[1]));
        }

        var disposed = NewFrontEnd();
        using (var alexa = new WakeWordModel(SharedAssets.OpenWakeWord("alexa_v0.1.onnx")))
        {
            var detector = new WakeWordDetector(disposed, [alexa]);
            var stream = disposed.CreateStream();
            disposed.Dispose();
            Assert.Equal(nameof(SpeechFrontEnd), Assert.Throws<ObjectDisposedException>(() => detector.Push(audio)).ObjectName);
            Assert.Throws<ObjectDisposedException>(() => stream.Push(audio));
            Assert.Throws<ObjectDisposedException>(() => disposed.Embed(audio));
            Assert.Throws<ObjectDisposedException>(() => disposed.CreateStream());
            Assert.Throws<ObjectDisposedException>(() => new WakeWordDetector(disposed, [alexa]));
        }

        using (var frontEnd = NewFrontEnd())
        {
            var vad = new VoiceActivityDetector(SharedAssets.OpenWakeWord("silero_vad.onnx"));
            var detector = new WakeWordDetector(frontEnd, [new ScriptedScorer("always", 0.9f)], new DetectionSettings { VadThreshold = 0.5 }, vad);
            vad.Dispose();
            vad.Dispose();
            Assert.Equal(nameof(VoiceActivityDetector), Assert.Throws<ObjectDisposedException>(() => detector.Push(audio)).ObjectName);
        }
    }

    [Fact]
    public void Null_arguments_throw_the_standard_argument_exceptions()
    {
        using var frontEnd = NewFrontEnd();
        Assert.Equal("frontEnd", Assert.Throws<ArgumentNullException>(() => new WakeWordDetector(null!, [new ScriptedScorer("a")])).ParamName);
        Assert.Equal("heads", Assert.Throws<ArgumentNullException>(() => new WakeWordDetector(frontEnd, null!)).ParamName);
        Assert.Equal("heads", Assert.Throws<ArgumentException>(() => new WakeWordDetector(frontEnd, [null!])).ParamName);
        Assert.Equal("path", Assert.Throws<ArgumentNullException>(() => new WakeWordModel(null!)).ParamName);
        Assert.Equal("path", Assert.Throws<ArgumentNullException>(() => new VoiceActivityDetector(null!)).ParamName);
        Assert.Equal("melModelPath", Assert.Throws<ArgumentNullException>(() => new SpeechFrontEnd(null!, "x")).ParamName);
    }

    [Fact]
    public void Disposing_a_shared_front_end_while_8_detectors_push_never_crashes()
    {
        // Detectors on 8 threads share one front end (as the class allows); it is disposed under them, 20 times.
        var audio = Noise(SpeechFrontEnd.ChunkSamples * 12);
        var clock = Stopwatch.StartNew();
        long pushes = 0;
        for (var round = 0; round < 20; round++)
        {
            var frontEnd = NewFrontEnd();
            using var started = new CountdownEvent(8);
            var workers = Enumerable.Range(0, 8).Select(_ => Task.Factory.StartNew(() =>
            {
                var detector = new WakeWordDetector(frontEnd, [new ScriptedScorer("always", 0.9f)]);
                started.Signal();
                try
                {
                    while (true)
                    {
                        detector.Push(audio);
                        Interlocked.Increment(ref pushes);
                    }
                }
                catch (ObjectDisposedException e)
                {
                    Assert.Equal(nameof(SpeechFrontEnd), e.ObjectName);
                }
            }, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default)).ToArray();
            started.Wait();
            frontEnd.Dispose();
            Task.WaitAll(workers);
        }
        log.WriteLine($"20 rounds, {pushes} pushes of 0.96 s, {clock.Elapsed.TotalSeconds:F1} s");
    }
}
