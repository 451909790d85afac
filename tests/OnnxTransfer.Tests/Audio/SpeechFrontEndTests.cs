using Microsoft.ML.OnnxRuntime;
using OnnxTransfer.Audio;
using OnnxTransfer.Data;
using Xunit.Abstractions;

namespace OnnxTransfer.Tests.Audio;

/// <summary>One loaded front end for the whole test class (sessions are the slow part).</summary>
public sealed class SpeechFrontEndFixture : IDisposable
{
    public SpeechFrontEnd FrontEnd { get; } = new(SharedAssets.OpenWakeWord("melspectrogram.onnx"), SharedAssets.OpenWakeWord("embedding_model.onnx"));

    public void Dispose() => FrontEnd.Dispose();
}

public class SpeechFrontEndTests(SpeechFrontEndFixture fixture, ITestOutputHelper output) : IClassFixture<SpeechFrontEndFixture>
{
    private SpeechFrontEnd FrontEnd => fixture.FrontEnd;

    private static string[] CommandClips(int count) =>
        Directory.GetFiles(SharedAssets.Dataset("speech_commands_subset"), "*.wav", SearchOption.AllDirectories).Order().Take(count).ToArray();

    /// <summary>A few real 16 kHz speech clips end to end (about 1 s each).</summary>
    private static float[] Speech(int clips) => CommandClips(clips).SelectMany(p => WavReader.Read(p).Samples).ToArray();

    private static float[] RunRaw(InferenceSession session, float[] input, long[] shape)
    {
        using var value = OrtValue.CreateTensorValueFromMemory(input, shape);
        using var options = new RunOptions();
        using var outputs = session.Run(options, [session.InputMetadata.Keys.Single()], [value], [session.OutputMetadata.Keys.Single()]);
        return outputs[0].GetTensorDataAsSpan<float>().ToArray();
    }

    private static void Close(ReadOnlySpan<float> expected, ReadOnlySpan<float> actual, float tolerance, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        var worst = 0f;
        for (var i = 0; i < expected.Length; i++) worst = Math.Max(worst, Math.Abs(expected[i] - actual[i]) / (1 + Math.Abs(expected[i])));
        Assert.True(worst <= tolerance, $"{what}: max relative difference {worst}");
    }

    [Theory]
    [InlineData(511, 0)]
    [InlineData(512, 1)]
    [InlineData(671, 1)]
    [InlineData(672, 2)]
    [InlineData(1760, 8)]
    [InlineData(16000, 97)]
    public void Mel_frame_count_formula_matches_the_model(int samples, int frames)
    {
        Assert.Equal(frames, SpeechFrontEnd.MelFrameCount(samples));
        var signal = Enumerable.Range(0, samples).Select(i => 0.1f * MathF.Sin(i * 0.3f)).ToArray();
        Assert.Equal(frames * 32, FrontEnd.Melspectrogram(signal).Length);
    }

    [Fact]
    public void Mel_is_the_raw_model_on_int16_scaled_input_mapped_by_x_over_10_plus_2()
    {
        var speech = Speech(1)[..8000];
        using var raw = new InferenceSession(SharedAssets.OpenWakeWord("melspectrogram.onnx"));
        var expected = RunRaw(raw, speech.Select(v => v * 32768f).ToArray(), [1, speech.Length]).Select(v => v / 10f + 2f).ToArray();
        Close(expected, FrontEnd.Melspectrogram(speech), 1e-6f, "mel");
    }

    [Fact]
    public void Mel_floors_80_db_below_the_loudest_frame_of_the_call_so_chunks_are_computed_separately()
    {
        // Quiet noise then loud noise: alone, the quiet part sits far above the floor; next to the loud part it
        // is clipped to (loudest − 80 dB), i.e. (max/10 + 2) − 8 after the x/10 + 2 map.
        var rng = new Random(3);
        var quiet = Enumerable.Range(0, 1760).Select(_ => (float)(rng.NextDouble() - 0.5) * 1e-4f).ToArray();
        var loud = Enumerable.Range(0, 1760).Select(_ => (float)(rng.NextDouble() - 0.5)).ToArray();
        var alone = FrontEnd.Melspectrogram(quiet);
        var together = FrontEnd.Melspectrogram([.. quiet, .. loud]);
        var floor = together.Max() - 8f;
        Assert.All(together, v => Assert.True(v >= floor - 1e-4f));
        Assert.True(alone.Min() < floor - 1f, "the quiet part alone should lie below the joint floor");
        Assert.True(Math.Abs(together[0] - floor) < 1e-4f, "the quiet frame should be clipped to the floor");

        // Chunked mel: one call per chunk on the streaming spans (1280 samples, then 480 + 1280).
        var speech = Speech(1);
        var chunked = FrontEnd.ChunkedMelspectrogram(speech);
        Assert.Equal(SpeechFrontEnd.FramesAfterChunks(12) * 32, chunked.Length);
        Close(FrontEnd.Melspectrogram(speech.AsSpan(0, 1280)), chunked.AsSpan(0, 5 * 32), 1e-6f, "chunk 1");
        Close(FrontEnd.Melspectrogram(speech.AsSpan(5 * 1280 - 1760, 1760)), chunked.AsSpan((8 * 4 - 3) * 32, 8 * 32), 1e-6f, "chunk 5");
    }

    [Fact]
    public void Embedding_count_formula_and_a_two_second_clip_gives_16()
    {
        Assert.Equal(16, SpeechFrontEnd.EmbeddingCount(32000));
        Assert.Equal(15, SpeechFrontEnd.EmbeddingCount(31999));
        Assert.Equal(1, SpeechFrontEnd.EmbeddingCount(12800));
        Assert.Equal(0, SpeechFrontEnd.EmbeddingCount(12799));
        Assert.Equal(76, SpeechFrontEnd.FramesAfterChunks(SpeechFrontEnd.WarmupChunks) - 1);
        var twoSeconds = Speech(2);
        Assert.Equal(32000, twoSeconds.Length);
        var embeddings = FrontEnd.Embed(twoSeconds);
        Assert.Equal(16 * 96, embeddings.Length);
        Assert.All(embeddings, v => Assert.True(float.IsFinite(v)));
        Assert.Empty(FrontEnd.Embed(new float[12799]));
    }

    [Fact]
    public void Batch_embeddings_are_the_documented_windows_through_the_raw_models()
    {
        // Independent recomputation: raw sessions, windows built by hand from the documented rule
        // (embedding j reads mel frames [8j + 1, 8j + 77)).
        var speech = Speech(2);
        var batch = FrontEnd.Embed(speech);
        using var rawMel = new InferenceSession(SharedAssets.OpenWakeWord("melspectrogram.onnx"));
        using var rawEmb = new InferenceSession(SharedAssets.OpenWakeWord("embedding_model.onnx"));
        var mel = new List<float>();
        for (var end = 1280; end <= speech.Length; end += 1280)
        {
            var span = speech.AsSpan(Math.Max(0, end - 1760)..end);
            var chunkInput = (end == 1280 ? speech.AsSpan(0, 1280) : span).ToArray().Select(v => v * 32768f).ToArray();
            mel.AddRange(RunRaw(rawMel, chunkInput, [1, chunkInput.Length]).Select(v => v / 10f + 2f));
        }
        Assert.Equal(197 * 32, mel.Count);
        for (var j = 0; j < 16; j += 5)
        {
            var window = mel.Skip((8 * j + 1) * 32).Take(76 * 32).ToArray();
            var embedding = RunRaw(rawEmb, window, [1, 76, 32, 1]);
            Close(embedding, batch.AsSpan(j * 96, 96), 1e-4f, $"embedding {j}");
        }
    }

    [Fact]
    public void Streaming_in_chunks_equals_batch_including_warm_up()
    {
        var speech = Speech(3);               // 48000 samples = 37.5 chunks: the last half chunk stays pending
        var batch = FrontEnd.Embed(speech);
        Assert.Equal(37 - 9, batch.Length / 96);

        var stream = FrontEnd.CreateStream();
        var streamed = new List<float[]>();
        for (var start = 0; start + 1280 <= speech.Length; start += 1280)
        {
            var e = stream.PushChunk(speech.AsSpan(start, 1280));
            Assert.Equal(stream.Chunks >= 10, e is not null); // first embedding exactly after chunk 10
            if (e is not null) streamed.Add(e);
        }
        Assert.Equal(batch.Length / 96, streamed.Count);
        for (var j = 0; j < streamed.Count; j++) Close(batch.AsSpan(j * 96, 96), streamed[j], 1e-4f, $"embedding {j}");

        // Ragged pushes (not multiples of 1280) give the same embeddings at the same chunk boundaries.
        var ragged = FrontEnd.CreateStream();
        var fromRagged = new List<float[]>();
        var rng = new Random(7);
        for (var at = 0; at < speech.Length;)
        {
            var n = Math.Min(rng.Next(1, 3000), speech.Length - at);
            fromRagged.AddRange(ragged.Push(speech.AsSpan(at, n)));
            at += n;
        }
        Assert.Equal(streamed.Count, fromRagged.Count);
        for (var j = 0; j < streamed.Count; j++) Close(streamed[j], fromRagged[j], 1e-5f, $"ragged {j}");

        // The history hands a head the last 16 embeddings, oldest first.
        var last16 = new float[16 * 96];
        Assert.True(stream.TryGetLatest(16, last16));
        Close(batch.AsSpan(batch.Length - 16 * 96), last16, 1e-4f, "latest 16");
        stream.Reset();
        Assert.False(stream.TryGetLatest(16, last16));
    }

    [Fact]
    public void Encoder_left_pads_short_clips_and_keeps_the_end_of_long_ones()
    {
        var encoder = new AudioClipEncoder(FrontEnd);
        Assert.Equal([16L, 96L], encoder.SampleShape);
        Assert.Equal(33280, encoder.WindowSamples);

        // Short (1 s): equals streaming silence then the clip (any amount of silence), read back as the last 16 embeddings.
        var clip = Speech(1);
        var encoded = new float[16 * 96];
        encoder.Encode(clip, encoded);
        foreach (var silence in new[] { 33280 - clip.Length, 5 * 1280 + 33280 - clip.Length })
        {
            var stream = FrontEnd.CreateStream();
            stream.Push(new float[silence]);
            stream.Push(clip);
            var expected = new float[16 * 96];
            Assert.True(stream.TryGetLatest(16, expected));
            Close(expected, encoded, 1e-4f, $"short clip after {silence} zeros");
        }

        // Long, whole chunks (3.2 s): the last 16 rows of the batch embeddings of the whole clip.
        var longClip = Speech(4)[..(40 * 1280)];
        encoder.Encode(longClip, encoded);
        var all = FrontEnd.Embed(longClip);
        Close(all.AsSpan(all.Length - 16 * 96), encoded, 1e-4f, "long clip");

        // Long, not whole chunks: end-aligned, i.e. as if left-padded to whole chunks.
        var ragged = Speech(4)[..(40 * 1280 + 700)];
        encoder.Encode(ragged, encoded);
        var padded = FrontEnd.Embed([.. new float[1280 - 700], .. ragged]);
        Close(padded.AsSpan(padded.Length - 16 * 96), encoded, 1e-4f, "ragged long clip");
        Assert.Equal(16 * 96, FrontEnd.EmbedLast(ragged, 16).Length);
    }

    [Fact]
    public void Encoder_reads_and_resamples_an_8_khz_fsdd_file_like_a_16_khz_one()
    {
        var path = Directory.GetFiles(SharedAssets.Dataset("fsdd/recordings"), "*.wav").Order().First();
        var encoder = new AudioClipEncoder(FrontEnd);
        var fromFile = new float[16 * 96];
        encoder.Encode(new DatasetItem(path, Path.GetFileName(path), "0", "train"), fromFile);
        var clip = WavReader.Read(path);
        Assert.Equal(8000, clip.SampleRate);
        var fromSamples = new float[16 * 96];
        encoder.Encode(Resampler.Resample(clip.Samples, 8000, 16000), fromSamples);
        Assert.Equal(fromSamples, fromFile);
        Assert.All(fromFile, v => Assert.True(float.IsFinite(v)));
        // Speech and silence embed differently (the encoder is not ignoring its input).
        var silence = new float[16 * 96];
        encoder.Encode(new float[100], silence);
        Assert.True(fromFile.Zip(silence).Max(p => Math.Abs(p.First - p.Second)) > 0.5f);
    }

    [Fact]
    public void Encoder_rejects_empty_and_unreadable_clips_naming_the_file()
    {
        using var dir = new TempDir();
        var encoder = new AudioClipEncoder(FrontEnd);
        var destination = new float[16 * 96];
        WavWriter.Write(dir.File("empty.wav"), [], 16000);
        var empty = Assert.Throws<AudioFormatException>(() => encoder.Encode(new DatasetItem(dir.File("empty.wav"), "empty.wav", "", ""), destination));
        Assert.Contains("empty.wav", empty.Message);
        File.WriteAllText(dir.File("fake.wav"), "ID3 definitely an mp3");
        var fake = Assert.Throws<AudioFormatException>(() => encoder.Encode(new DatasetItem(dir.File("fake.wav"), "fake.wav", "", ""), destination));
        Assert.Contains("fake.wav", fake.Message);
        Assert.Contains("ffmpeg", fake.Message);
        Assert.Throws<ArgumentException>(() => encoder.Encode(new float[100], new float[10]));
    }

    [Fact]
    public void Encoder_is_thread_safe()
    {
        var encoder = new AudioClipEncoder(FrontEnd);
        var clips = CommandClips(4).Select(p => WavReader.Read(p).Samples).ToArray();
        var sequential = clips.Select(c => { var d = new float[16 * 96]; encoder.Encode(c, d); return d; }).ToArray();
        var parallel = new float[clips.Length][];
        Parallel.For(0, clips.Length * 2, new ParallelOptions { MaxDegreeOfParallelism = 4 }, i =>
        {
            var d = new float[16 * 96];
            encoder.Encode(clips[i % clips.Length], d);
            parallel[i % clips.Length] = d;
        });
        for (var i = 0; i < clips.Length; i++) Assert.Equal(sequential[i], parallel[i]);
    }

    [Fact]
    public void Pretrained_alexa_head_runs_on_encoder_output_and_scores_in_0_1()
    {
        using var head = new InferenceSession(SharedAssets.OpenWakeWord("alexa_v0.1.onnx"));
        var input = head.InputMetadata.Single();
        Assert.Equal([1, 16, 96], input.Value.Dimensions);
        var encoder = new AudioClipEncoder(FrontEnd);
        var scores = new List<float>();
        foreach (var path in CommandClips(300).Where((_, i) => i % 60 == 0))
        {
            var features = new float[16 * 96];
            encoder.Encode(new DatasetItem(path, Path.GetFileName(path), "", ""), features);
            var score = RunRaw(head, features, [1, 16, 96]).Single();
            Assert.InRange(score, 0f, 1f);
            scores.Add(score);
        }
        output.WriteLine($"alexa scores on non-alexa speech commands: {string.Join(", ", scores.Select(s => s.ToString("F4")))}");
        Assert.Equal(5, scores.Count);
    }

    [Fact]
    public void Missing_or_wrong_models_are_clear_errors()
    {
        var missing = Assert.Throws<OnnxTransferException>(() => new SpeechFrontEnd("/nonexistent/mel.onnx", SharedAssets.OpenWakeWord("embedding_model.onnx")));
        Assert.Contains("/nonexistent/mel.onnx", missing.Message);
        var swapped = Assert.Throws<OnnxTransferException>(() => new SpeechFrontEnd(SharedAssets.OpenWakeWord("embedding_model.onnx"), SharedAssets.OpenWakeWord("melspectrogram.onnx")));
        Assert.Contains("embedding_model.onnx", swapped.Message);
    }
}
