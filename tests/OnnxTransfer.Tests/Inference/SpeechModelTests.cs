using OnnxTransfer.Audio;
using OnnxTransfer.Backbones;
using OnnxTransfer.Data;
using OnnxTransfer.Evaluation;
using OnnxTransfer.Export;
using OnnxTransfer.Features;
using OnnxTransfer.Inference;
using OnnxTransfer.Training.Heads;

namespace OnnxTransfer.Tests.Inference;

/// <summary>
/// Spoken digits (FSDD) through the same path as images: fit on openWakeWord embeddings → one exported model →
/// TransferModel on WAV files → evaluation. Small: 5 clips per digit from 4 speakers train, the fifth speaker tests.
/// </summary>
public class SpeechModelTests
{
    [Fact]
    public async Task Fit_exports_a_speech_model_that_labels_wav_files_like_its_head_and_beats_chance_on_a_new_speaker()
    {
        using var dir = new TempDir();
        var recordings = Path.Combine(SharedAssets.Dataset("fsdd"), "recordings");
        // Manifest paths must stay inside the manifest's folder: link the read-only recordings in.
        Directory.CreateSymbolicLink(dir.File("recordings"), recordings);
        var rows = new List<string> { "path,label,split" };
        foreach (var (speaker, split, count) in new[] { ("george", "train", 5), ("jackson", "train", 5), ("lucas", "train", 5), ("nicolas", "train", 5), ("theo", "test", 3) })
            for (var digit = 0; digit < 10; digit++)
                for (var n = 0; n < count; n++)
                    rows.Add($"recordings/{digit}_{speaker}_{n}.wav,{digit},{split}");
        File.WriteAllLines(dir.File("digits.csv"), rows);

        var registry = new BackboneRegistry(BackboneRegistry.BuiltInManifests,
            new BackboneLocations(dir.File("cache"), [SharedAssets.Models], AllowNetwork: false));
        var options = new LearnerOptions { Training = new TrainingOptions { Epochs = 30 }, AllowOutsidePaths = true };
        using var learner = await Learner.CreateAsync("openwakeword", options, registry: registry);
        var fit = await learner.FitAsync(dir.File("digits.csv"), dir.File("digits.onnx"));

        var meta = ModelMetadata.Read(OnnxTransfer.Onnx.OnnxModel.Load(fit.ModelPath));
        Assert.Equal(ModelInputKind.SpeechEmbeddings, meta.InputKind);
        Assert.Equal("openwakeword", meta.FrontEnd);
        Assert.Equal(Enumerable.Range(0, 10).Select(d => d.ToString()), meta.Labels);

        using var model = TransferModel.Load(fit.ModelPath, frontEnds: registry.SpeechFrontEnd);
        Assert.Null(model.Preprocessing);
        Assert.Contains(".wav", model.InputExtensions);
        var dataset = DatasetLoader.Load(dir.File("digits.csv"), new DatasetLoadOptions { Extensions = model.InputExtensions, AllowOutsidePaths = true });
        var test = dataset.InSplit("test").Items;
        Assert.Equal(30, test.Count);

        // The model on WAV files = the head on the features extraction stored for the same files.
        var features = (await FeatureStore.ReadAsync(fit.FeaturesPath)).WhereSplit("test");
        using var head = HeadModel.Load(fit.HeadDirectory);
        var expected = head.PredictProbabilities(features);
        var byId = test.ToDictionary(i => i.Id, i => i.Path);
        var predictions = model.PredictFiles(features.Paths.Select(id => byId[id]), batchSize: 8).ToArray();
        var maxDiff = 0f;
        for (var r = 0; r < predictions.Length; r++)
        {
            var p = predictions[r].Prediction ?? throw new Xunit.Sdk.XunitException(predictions[r].Error);
            for (var c = 0; c < 10; c++)
                maxDiff = Math.Max(maxDiff, Math.Abs(p.Probabilities[meta.Labels[c]] - expected[r * 10 + c]));
        }
        Assert.True(maxDiff < 1e-4, $"max |model - head| = {maxDiff}");
        Assert.Equal(predictions[0].Prediction!.Label, model.Predict(byId[features.Paths[0]]).Label);

        // A speaker the head never heard: 10 classes, chance is 0.1.
        var evaluation = ModelEvaluation.Evaluate(model, test);
        Assert.Empty(evaluation.Errors);
        Assert.True(evaluation.Metrics.Accuracy > 0.4, $"held-out speaker accuracy {evaluation.Metrics.Accuracy}");
        Assert.Equal(fit.Report!.Accuracy, evaluation.Metrics.Accuracy, 6);

        // WAV bytes and streams (a request body, a non-seekable stream included) label like the file.
        var wav = byId[features.Paths[0]];
        var fromFile = model.Predict(wav);
        Assert.Equal(fromFile.Values, model.Predict(File.ReadAllBytes(wav), "clip.wav").Values);
        using (var stream = new ForwardOnlyStream(File.ReadAllBytes(wav)))
            Assert.Equal(fromFile.Values, model.Predict(stream, "clip.wav").Values);
        Assert.Equal(fromFile.Values, model.PredictBatch([File.ReadAllBytes(wav), File.ReadAllBytes(byId[features.Paths[1]])])[0].Values);

        var e = Assert.Throws<AudioFormatException>(() => model.Predict(new byte[] { 1, 2, 3 }, "upload.wav"));
        Assert.StartsWith("upload.wav: ", e.Message);
        Assert.Contains("WAV", e.Message);
    }
}

/// <summary>A stream that cannot seek, like a request body.</summary>
internal sealed class ForwardOnlyStream(byte[] bytes) : MemoryStream(bytes)
{
    public override bool CanSeek => false;
}
