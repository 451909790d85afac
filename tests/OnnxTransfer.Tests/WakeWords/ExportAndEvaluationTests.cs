using Microsoft.ML.OnnxRuntime;
using OnnxTransfer.Evaluation;
using OnnxTransfer.Export;
using OnnxTransfer.Features;
using OnnxTransfer.Onnx;
using OnnxTransfer.WakeWords;
using OnnxTransfer.Training.Engine;
using OnnxTransfer.Training.Heads;

namespace OnnxTransfer.Tests.WakeWords;

public class ExportAndEvaluationTests
{
    private static FeatureTable RandomTable(int rows, ulong seed)
    {
        var rng = new SeededRandom(seed);
        var labels = Enumerable.Range(0, rows).Select(i => i % 3 == 0 ? "positive" : "negative").ToArray();
        var features = new float[rows * 1536];
        for (var r = 0; r < rows; r++)
        for (var j = 0; j < 1536; j++)
            features[r * 1536 + j] = (float)rng.NextGaussian() + (labels[r] == "positive" && j < 96 ? 1f : 0f);
        return new FeatureTable(labels.Select((_, i) => $"clip{i}").ToArray(), labels, labels.Select(_ => "train").ToArray(), features, 1536);
    }

    [Fact]
    public void ExportedModel_ReadsEmbeddingWindows_AndScoresLikeTheHead()
    {
        using var dir = new TempDir();
        var options = new TrainingOptions { Spec = HeadSpec.Parse("mlp:8+layernorm"), Task = HeadTask.Binary, Epochs = 2, BatchSize = 16 };
        Trainer.Fit(RandomTable(48, 1), null, options, dir.File("head"));
        using var head = HeadModel.Load(dir.File("head"));
        var model = WakeWordTrainer.BuildModel(head, "hey test");
        model.Save(dir.File("ww.onnx"));

        var loaded = OnnxModel.Load(dir.File("ww.onnx"));
        var input = Assert.Single(loaded.Graph.Input);
        Assert.Equal(WakeWordTrainer.InputName, input.Name);
        var dims = input.Type.TensorType.Shape.Dim;
        Assert.Equal(3, dims.Count);
        Assert.True(dims[0].DimParam.Length > 0, "batch is symbolic");
        Assert.Equal([16L, 96L], dims.Skip(1).Select(d => d.DimValue));
        Assert.Equal([WakeWordTrainer.ScoreName, WakeWordTrainer.ProbabilitiesName], loaded.Graph.Output.Select(o => o.Name));
        var meta = OnnxTransfer.Export.ModelMetadata.Read(loaded);
        Assert.Equal(ModelInputKind.SpeechEmbeddings, meta.InputKind);
        Assert.Equal("openwakeword", meta.FrontEnd);
        Assert.Equal(["negative", "hey test"], meta.Labels);
        Assert.Equal("mlp:8+layernorm", meta.Head);

        // Scores of 5 windows equal the head's P(positive) on the flattened rows.
        var table = RandomTable(5, 9);
        var expected = head.PredictProbabilities(table.Features);
        using var ww = new WakeWordModel(dir.File("ww.onnx"));
        Assert.Equal("hey test", ww.Name);
        var scores = new float[5];
        ww.Score(table.Features, scores);
        for (var i = 0; i < 5; i++) Assert.Equal(expected[2 * i + 1], scores[i], 5);

        using var session = new InferenceSession(dir.File("ww.onnx"));
        using var x = OrtValue.CreateTensorValueFromMemory(table.Features, [5, 16, 96]);
        using var runOptions = new RunOptions(); // kept alive across Run: a collected RunOptions frees native memory mid-run
        using var outputs = session.Run(runOptions, [WakeWordTrainer.InputName], [x], [WakeWordTrainer.ScoreName, WakeWordTrainer.ProbabilitiesName]);
        Assert.Equal([5L, 1L], outputs[0].GetTensorTypeAndShape().Shape);
        Assert.Equal([5L, 2L], outputs[1].GetTensorTypeAndShape().Shape);
    }

    [Fact]
    public void PretrainedHead_LoadsWithBatchOne_AndScoresSeveralWindows()
    {
        using var alexa = new WakeWordModel(SharedAssets.OpenWakeWord("alexa_v0.1.onnx"));
        Assert.Equal(16, alexa.WindowEmbeddings);
        var windows = RandomTable(3, 4).Features;
        var all = new float[3];
        alexa.Score(windows, all);
        for (var i = 0; i < 3; i++)
        {
            var one = new float[1];
            alexa.Score(windows.AsSpan(i * 1536, 1536), one);
            Assert.Equal(one[0], all[i]);
            Assert.InRange(one[0], 0f, 1f);
        }
    }

    [Fact]
    public void Weighted_RepeatsRowsToTheRequestedNegativeWeight()
    {
        var table = RandomTable(30, 2); // 10 positive, 20 negative
        var weighted = WakeWordTrainer.Weighted(table, 6); // each negative x3: 60 vs 10
        Assert.Equal(10, weighted.Labels.Count(l => l == "positive"));
        Assert.Equal(60, weighted.Labels.Count(l => l == "negative"));
        var lighter = WakeWordTrainer.Weighted(table, 0.5); // each positive x4: 40 vs 20
        Assert.Equal(40, lighter.Labels.Count(l => l == "positive"));
        Assert.Equal(table.Row(0).ToArray(), lighter.Row(0).ToArray());
    }

    [Fact]
    public void FalseAccepts_AreDebouncedDetections_OnAHandCase()
    {
        // 0.08 s frames; above 0.5 at frames 2-4 (one burst), 10, 30, 31 and 50.
        var scores = new float[100];
        foreach (var k in new[] { 2, 3, 4, 10, 30, 31, 50 }) scores[k] = 0.8f;
        // Debounce 1 s = 12.5 frames: 2 fires (t=0.24), 3,4,10 within 1 s, 30 fires (2.48), 31 blocked, 50 fires (4.08).
        Assert.Equal(3, WakeWordEvaluator.CountFalseAccepts(scores, 0.08, 0.5, 1, 1.0));
        Assert.Equal(7, WakeWordEvaluator.CountFalseAccepts(scores, 0.08, 0.5, 1, 0));
        Assert.Equal(0, WakeWordEvaluator.CountFalseAccepts(scores, 0.08, 0.9, 1, 0));
        // Patience 2: 2-3 fires at 3 (the run restarts, so 4 alone does not), 30-31 fires at 31; 10 and 50 are single frames.
        Assert.Equal(2, WakeWordEvaluator.CountFalseAccepts(scores, 0.08, 0.5, 2, 0));
    }

    [Fact]
    public void Evaluate_GivesFrrAndFalseAcceptsPerHour_FromHandMadeScores()
    {
        // Embeddings whose first value is the frame score (EmbeddingValueScorer). Positives: 4 clips of 20
        // embeddings (5 frames) peaking at 0.9, 0.7, 0.3, 0.95. Negatives: one stream of 3 minutes.
        float[] Embeddings(float[] frameScores)
        {
            var e = new float[(frameScores.Length + 15) * 96];
            for (var k = 0; k < frameScores.Length; k++) e[(k + 15) * 96] = frameScores[k];
            return e;
        }
        var positives = new[] { 0.9f, 0.7f, 0.3f, 0.95f }.Select(p => Embeddings([0.1f, p, 0.2f, 0.1f, 0.1f])).ToArray();
        var negative = new float[2000];
        negative[100] = 0.6f; negative[101] = 0.65f; negative[1000] = 0.8f; negative[1500] = 0.4f;
        var audio = new WakeWordEvaluationAudio(["a", "b", "c", "d"], positives, ["stream"], [Embeddings(negative)], 180, [["n.wav"]]);
        var result = WakeWordEvaluator.Evaluate(new EmbeddingValueScorer(), "probe.onnx", audio,
            new WakeWordEvaluationOptions { DebounceSeconds = 1.0, TargetFalseAcceptsPerHour = 25, Thresholds = [0.35, 0.5, 0.75, 0.85] });
        var byThreshold = result.Det.ToDictionary(p => p.Threshold);
        // 0.05 h of negatives: one FA = 20 FA/h.
        Assert.Equal(0.25, byThreshold[0.5].FalseRejectRate);        // 0.3 missed
        Assert.Equal(40, byThreshold[0.5].FalseAcceptsPerHour, 9);   // 100-101 burst (one) + 1000
        Assert.Equal(60, byThreshold[0.35].FalseAcceptsPerHour, 9);  // + 1500
        Assert.Equal(0.5, byThreshold[0.75].FalseRejectRate);
        Assert.Equal(20, byThreshold[0.75].FalseAcceptsPerHour, 9);
        Assert.Equal(0.75, result.RecommendedThreshold);             // lowest threshold with <= 25 FA/h
        Assert.Equal(0.5, byThreshold[0.85].FalseRejectRate);
        Assert.Equal(0, byThreshold[0.85].FalseAcceptsPerHour);
        Assert.Equal([0.9, 0.7, 0.3, 0.95], result.PositiveScores.Select(s => Math.Round(s, 2)));

        using var dir = new TempDir();
        WakeWordEvaluator.WriteReport(dir.Path, [result], audio);
        Assert.True(new FileInfo(dir.File("det.png")).Length > 1000);
        // 2 misses of 4 clips: the rate comes with its 95 % Wilson interval, so a small set says how little it knows.
        Assert.Equal(WilsonInterval.Of(2, 4), result.FalseRejectInterval(result.AtRecommended));
        Assert.Contains("50.0 % (95 % interval 15.0–85.0 %)", File.ReadAllText(dir.File("report.md")));
        Assert.Contains("\"recommended_threshold\": 0.75", File.ReadAllText(dir.File("report.json")));
    }

    [Fact]
    public void Report_names_the_speakers_whose_clips_are_missed()
    {
        // Two Speech Commands speakers (the hash before _nohash_): a's clips score 0.3 and 0.2, b's 0.9 and 0.95.
        float[] Embeddings(float peak)
        {
            var e = new float[20 * 96];
            e[16 * 96] = peak;
            return e;
        }
        string[] names = ["/x/aaaaaaaa_nohash_0.wav", "/x/bbbbbbbb_nohash_0.wav", "/x/aaaaaaaa_nohash_1.wav", "/x/bbbbbbbb_nohash_1.wav"];
        var audio = new WakeWordEvaluationAudio(names, new[] { 0.3f, 0.9f, 0.2f, 0.95f }.Select(Embeddings).ToArray(),
            ["stream"], [new float[400 * 96]], 180, [["n.wav"]]);
        var result = WakeWordEvaluator.Evaluate(new EmbeddingValueScorer(), "probe.onnx", audio,
            new WakeWordEvaluationOptions { Thresholds = [0.25, 0.5] });
        Assert.Equal(0.25, result.RecommendedThreshold); // no false accepts anywhere: the lowest threshold

        var speakers = names.Select(SpeakerIdentity.Of).ToArray();
        Assert.Equal([new SpeakerMisses("speech-commands:aaaaaaaa", 2, 1), new SpeakerMisses("speech-commands:bbbbbbbb", 2, 0)],
            WakeWordEvaluator.MissesBySpeaker(result.PositiveScores, speakers, result.RecommendedThreshold));
        Assert.Equal([new SpeakerMisses("speech-commands:aaaaaaaa", 2, 2), new SpeakerMisses("speech-commands:bbbbbbbb", 2, 0)],
            WakeWordEvaluator.MissesBySpeaker(result.PositiveScores, speakers, 0.5));

        using var dir = new TempDir();
        WakeWordEvaluator.WriteReport(dir.Path, [result], audio);
        Assert.Contains("- probe.onnx: speech-commands:aaaaaaaa 1 of 2, the other 1: 0 of 2", File.ReadAllText(dir.File("report.md")));
        Assert.Contains("\"missed\": 1", File.ReadAllText(dir.File("report.json")));
    }
}
