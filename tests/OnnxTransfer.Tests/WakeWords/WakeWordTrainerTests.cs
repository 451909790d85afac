using OnnxTransfer.Tests.Audio;
using OnnxTransfer.Training;
using OnnxTransfer.WakeWords;

namespace OnnxTransfer.Tests.WakeWords;

public class WakeWordTrainerTests(SpeechFrontEndFixture fixture) : IClassFixture<SpeechFrontEndFixture>
{
    [Fact]
    public void Train_OnATinySyntheticSet_MinesAndExportsAModelTheDetectorRuns()
    {
        using var dir = new TempDir();
        var data = dir.File("data");
        WakeWordDataGenerator.Generate(data, new WakeWordDataOptions { Phrase = "hey toaster", Positives = 8, Negatives = 8, TestFraction = 0.25, Seed = 5, Threads = 2 });
        var options = new WakeWordTrainingOptions
        {
            Spec = HeadSpec.Parse("mlp:16+layernorm"),
            Epochs = 5,
            BatchSize = 8,
            MiningRounds = 1,
            MiningThreshold = 0, // every window of the negative stream qualifies: exercises the mining path
            MaxMinedPerRound = 10,
            Threads = 2,
        };
        var result = WakeWordTrainer.Train(data, dir.File("ww.onnx"), fixture.FrontEnd, options);
        Assert.Equal("hey toaster", result.Name);
        Assert.Equal(6, result.Positives); // the test split (2 of 8) is left out
        Assert.Equal(6, result.Negatives);
        Assert.Equal([10], result.Mined);
        Assert.True(File.Exists(dir.File("ww.onnx")));

        using var model = new WakeWordModel(dir.File("ww.onnx"));
        Assert.Equal("hey toaster", model.Name);
        var detector = new WakeWordDetector(fixture.FrontEnd, [model], new DetectionSettings { Threshold = 0 });
        // Threshold 0: every frame counts, so with no debounce gap beyond 1.5 s a 4 s stream fires at 2.0 s and 3.52 s.
        var events = detector.Push(new float[16000 * 4]);
        Assert.Equal([2.0, 3.52], events.Select(e => Math.Round(e.Time, 2)));
        Assert.All(events, e => Assert.InRange(e.Score, 0f, 1f));
    }
}
