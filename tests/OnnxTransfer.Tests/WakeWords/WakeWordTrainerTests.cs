using OnnxTransfer.Audio;
using OnnxTransfer.Tests.Audio;
using OnnxTransfer.WakeWords;
using OnnxTransfer.Training.Heads;

namespace OnnxTransfer.Tests.WakeWords;

public class WakeWordTrainerTests(SpeechFrontEndFixture fixture) : IClassFixture<SpeechFrontEndFixture>
{
    private static WakeWordTrainingOptions Tiny => new()
    {
        Spec = HeadSpec.Parse("mlp:16+layernorm"),
        Epochs = 3,
        BatchSize = 16,
        PositiveCopies = 2,
        NegativeCopies = 1,
        Backgrounds = 4,
        MiningMinutes = 1,
        MiningRounds = 1,
        MiningThreshold = 0, // every window of the negative stream qualifies: exercises the mining path
        MaxMinedPerRound = 10,
        CalibrationMinutes = 1,
        Threads = 2,
    };

    [Fact]
    public async Task Train_OnATinySyntheticSet_MinesCalibratesAndExportsAModelTheDetectorRuns()
    {
        using var dir = new TempDir();
        var data = dir.File("data");
        WakeWordDataGenerator.Generate(data, new WakeWordDataOptions { Phrase = "hey toaster", Positives = 8, Negatives = 8, ValSpeakerFraction = 0.3, Seed = 5, Threads = 2 });
        var manifest = SynthesisManifest.TryRead(data)!;
        var trainPositives = manifest.Clips.Count(c => c.Split == "train" && c.Label == "positive");
        var trainNegatives = manifest.Clips.Count(c => c.Split == "train" && c.Label == "negative");
        var result = await WakeWordTrainer.TrainAsync(data, dir.File("ww.onnx"), fixture.FrontEnd, Tiny);
        Assert.Equal("hey toaster", result.Name);
        Assert.Equal(2 * trainPositives, result.Positives); // two augmented copies each; the val split is left out
        Assert.True(result.Negatives > trainNegatives + 4, $"{result.Negatives} negatives: copies + backgrounds + stream windows");
        Assert.Equal([10], result.Mined);
        Assert.InRange(result.Calibration.Threshold, 0.01, 1);
        Assert.Contains("everyday speech", result.Calibration.Source);
        Assert.True(File.Exists(dir.File("ww.onnx")));
        Assert.NotEmpty(Directory.GetFiles(dir.File("ww.features"), "*.parquet"));

        using var model = new WakeWordModel(dir.File("ww.onnx"));
        Assert.Equal("hey toaster", model.Name);
        Assert.Equal(result.Calibration.Threshold, model.Threshold);
        var detector = new WakeWordDetector(fixture.FrontEnd, [model], new DetectionSettings { Threshold = 0 });
        // Threshold 0: every frame counts, so with no debounce gap beyond 1.5 s a 4 s stream fires at 2.0 s and 3.52 s.
        var events = detector.Push(new float[16000 * 4]);
        Assert.Equal([2.0, 3.52], events.Select(e => Math.Round(e.Time, 2)));
        Assert.All(events, e => Assert.InRange(e.Score, 0f, 1f));
    }

    [Fact]
    public async Task Rerun_ReadsTheCachedFeatures_AndTrainsTheSameModel()
    {
        using var dir = new TempDir();
        var data = dir.File("data");
        WakeWordDataGenerator.Generate(data, new WakeWordDataOptions { Phrase = "hey toaster", Positives = 6, Negatives = 6, ValSpeakerFraction = 0, Seed = 2, Threads = 2 });
        var options = Tiny with { MiningRounds = 0 };
        await WakeWordTrainer.TrainAsync(data, dir.File("a.onnx"), fixture.FrontEnd, options);
        var cache = Directory.GetFiles(dir.File("a.features"), "*.parquet").ToDictionary(Path.GetFileName, File.GetLastWriteTimeUtc);
        var first = File.ReadAllBytes(dir.File("a.onnx"));
        await WakeWordTrainer.TrainAsync(data, dir.File("a.onnx"), fixture.FrontEnd, options);
        Assert.Equal(cache, Directory.GetFiles(dir.File("a.features"), "*.parquet").ToDictionary(Path.GetFileName, File.GetLastWriteTimeUtc));
        Assert.Equal(first, File.ReadAllBytes(dir.File("a.onnx")));
        // Without a val split the threshold is calibrated on fresh augmentations of the training negatives.
        using var model = new WakeWordModel(dir.File("a.onnx"));
        Assert.NotNull(model.Threshold);
    }

    [Fact]
    public async Task TheSameClips_InAnotherFolder_TrainTheSameModel()
    {
        // Examples are named after the clips' ids inside their folder, and the early-stopping split ranks those names:
        // where the folder lies must not change which renders validate, and so the model.
        using var dir = new TempDir();
        var data = dir.File("data");
        WakeWordDataGenerator.Generate(data, new WakeWordDataOptions { Phrase = "hey toaster", Positives = 8, Negatives = 8, ValSpeakerFraction = 0, Seed = 4, Threads = 2 });
        var moved = dir.File(Path.Combine("somewhere", "else", "copy"));
        foreach (var file in Directory.EnumerateFiles(data, "*", SearchOption.AllDirectories))
        {
            var target = Path.Combine(moved, Path.GetRelativePath(data, file));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(file, target);
        }
        var a = await WakeWordTrainer.TrainAsync(data, dir.File("a.onnx"), fixture.FrontEnd, Tiny);
        var b = await WakeWordTrainer.TrainAsync(moved, dir.File("b.onnx"), fixture.FrontEnd, Tiny);

        Assert.Equal(a.Mined, b.Mined);
        Assert.Equal(a.Calibration.Threshold, b.Calibration.Threshold);
        var noise = new float[16000 * 3];
        var rng = new Random(7);
        for (var i = 0; i < noise.Length; i++) noise[i] = 0.1f * (rng.NextSingle() - 0.5f);
        float[] Scores(string path)
        {
            using var model = new WakeWordModel(path);
            return new WakeWordDetector(fixture.FrontEnd, [model], new DetectionSettings { Threshold = 0, DebounceSeconds = 0 })
                .Push(noise).Select(e => e.Score).ToArray();
        }
        var scores = Scores(dir.File("a.onnx"));
        Assert.NotEmpty(scores);
        Assert.Equal(scores, Scores(dir.File("b.onnx")));
    }

    [Fact]
    public async Task RealRecordings_AreAddedAsWeightedPositives()
    {
        using var dir = new TempDir();
        var data = dir.File("data");
        WakeWordDataGenerator.Generate(data, new WakeWordDataOptions { Phrase = "sheila", Positives = 4, Negatives = 4, ValSpeakerFraction = 0, Seed = 3, Threads = 2 });
        var real = dir.File("real");
        Directory.CreateDirectory(real);
        foreach (var f in Directory.GetFiles(SharedAssets.Dataset("speech_commands_subset/sheila"), "*.wav").Order().Take(2))
            File.Copy(f, Path.Combine(real, Path.GetFileName(f)));
        var result = await WakeWordTrainer.TrainAsync(data, dir.File("ww.onnx"), fixture.FrontEnd, Tiny with { MiningRounds = 0, RealPositives = real, RealCopies = 5 });
        Assert.Equal(2 * 4 + 5 * 2, result.Positives);
        var e = await Assert.ThrowsAsync<OnnxTransferException>(() => WakeWordTrainer.TrainAsync(data, dir.File("x.onnx"), fixture.FrontEnd, Tiny with { RealPositives = dir.File("nothing") }));
        Assert.Contains("--real", e.Message);
    }

    [Fact]
    public async Task Calibrate_StoresAThresholdMeetingTheTargetOnTheCalibrationAudio_AndDetectUsesIt()
    {
        using var dir = new TempDir();
        var data = dir.File("data");
        WakeWordDataGenerator.Generate(data, new WakeWordDataOptions { Phrase = "hey toaster", Positives = 6, Negatives = 6, ValSpeakerFraction = 0, Seed = 4, Threads = 2 });
        await WakeWordTrainer.TrainAsync(data, dir.File("ww.onnx"), fixture.FrontEnd, Tiny with { MiningRounds = 0 });
        // A target no stream can miss (every frame may fire) gives the lowest threshold; a zero target a higher one.
        var loose = await ThresholdCalibrator.CalibrateAsync(dir.File("ww.onnx"), data, fixture.FrontEnd, 1e9, minutes: 1, threads: 2);
        Assert.Equal(0.01, loose.Threshold);
        var strict = await ThresholdCalibrator.CalibrateAsync(dir.File("ww.onnx"), data, fixture.FrontEnd, 0, minutes: 1, threads: 2);
        Assert.True(strict.Threshold > loose.Threshold, $"{strict.Threshold} vs {loose.Threshold}");
        Assert.Equal(0, strict.FalseAcceptsPerHour);
        Assert.Equal("training-voice everyday speech (no val split)", strict.Source);
        using var model = new WakeWordModel(dir.File("ww.onnx"));
        Assert.Equal(strict.Threshold, model.Threshold);
        await Assert.ThrowsAsync<OnnxTransferException>(() => ThresholdCalibrator.CalibrateAsync(dir.File("ww.onnx"), data, fixture.FrontEnd, -1));
    }
}
