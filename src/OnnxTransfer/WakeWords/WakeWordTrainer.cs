using OnnxTransfer.Audio;
using OnnxTransfer.Data;
using OnnxTransfer.Evaluation;
using OnnxTransfer.Export;
using OnnxTransfer.Features;
using OnnxTransfer.Onnx;
using OnnxTransfer.Training.Heads;
using DataType = OnnxTransfer.Onnx.Proto.TensorProto.Types.DataType;

namespace OnnxTransfer.WakeWords;

/// <summary>How <see cref="WakeWordTrainer"/> trains a wake-word head.</summary>
public sealed record WakeWordTrainingOptions
{
    /// <summary>The wake word's name (metadata and detections); null = the phrase in synth.json, else the data folder's name.</summary>
    public string? Name { get; init; }
    /// <summary>Head architecture (openWakeWord: Linear → LayerNorm → ReLU blocks).</summary>
    public HeadSpec Spec { get; init; } = HeadSpec.Parse("mlp:128,128+layernorm+dropout=0.3");
    /// <summary>Training epochs per round.</summary>
    public int Epochs { get; init; } = 30;
    /// <summary>Mini-batch size.</summary>
    public int BatchSize { get; init; } = 256;
    /// <summary>Base learning rate.</summary>
    public double LearningRate { get; init; } = 1e-3;
    /// <summary>Label smoothing: targets 0/1 become ε/2 and 1 − ε/2, so the head cannot push every score to 0 or 1.</summary>
    public double LabelSmoothing { get; init; }
    /// <summary>Augmented copies made of every positive clip.</summary>
    public int PositiveCopies { get; init; } = 5;
    /// <summary>Augmented copies made of every negative clip.</summary>
    public int NegativeCopies { get; init; } = 2;
    /// <summary>Background-only negative examples (noise, babble, hum, silence-like levels).</summary>
    public int Backgrounds { get; init; } = 600;
    /// <summary>
    /// Total weight of the negative rows relative to the positive rows (rows are repeated to reach it):
    /// above 1 trades false rejects for fewer false accepts, as openWakeWord's negative weighting does.
    /// </summary>
    public double NegativeWeight { get; init; } = 3;
    /// <summary>Minutes of long negative streams (synthetic speech with background) whose windows are mined.</summary>
    public double MiningMinutes { get; init; } = 12;
    /// <summary>Hard-negative mining rounds after the first fit (0 = none).</summary>
    public int MiningRounds { get; init; } = 2;
    /// <summary>Windows of the negative streams scoring at or above this are added as negatives when mining.</summary>
    public double MiningThreshold { get; init; } = 0.1;
    /// <summary>At most this many mined windows per round (highest scores first).</summary>
    public int MaxMinedPerRound { get; init; } = 3000;
    /// <summary>Extra long negative audio (.wav files) whose windows are mined too.</summary>
    public IReadOnlyList<string> MiningAudio { get; init; } = [];
    /// <summary>Folder of real recordings of the phrase (e.g. 5–20 clips a user recorded), added to the positives.</summary>
    public string? RealPositives { get; init; }
    /// <summary>Augmented copies made of every real recording (its weight against the synthetic clips).</summary>
    public int RealCopies { get; init; } = 40;
    /// <summary>Folder of background recordings mixed under the clips (none: synthetic noise and babble only).</summary>
    public string? NoiseFolder { get; init; }
    /// <summary>How the clips are augmented.</summary>
    public WakeWordAugmentationOptions Augmentation { get; init; } = new();
    /// <summary>False accepts per hour the stored threshold is calibrated for, on held-out negative streams.</summary>
    public double TargetFalseAcceptsPerHour { get; init; } = 0.5;
    /// <summary>Minutes of held-out negative streams (val voices) the threshold is calibrated on.</summary>
    public double CalibrationMinutes { get; init; } = 15;
    /// <summary>Seed of augmentation, initialisation and shuffling.</summary>
    public ulong Seed { get; init; } = 1;
    /// <summary>Threads for augmentation and feature extraction.</summary>
    public int Threads { get; init; } = Environment.ProcessorCount;
}

/// <summary>Outcome of <see cref="WakeWordTrainer.TrainAsync"/>.</summary>
/// <param name="ModelPath">The exported wake-word model.</param>
/// <param name="Name">Wake word name.</param>
/// <param name="Positives">Positive training examples (augmented copies included).</param>
/// <param name="Negatives">Negative training examples (augmented copies, backgrounds and stream windows).</param>
/// <param name="Mined">Hard negatives added per mining round.</param>
/// <param name="Calibration">The stored threshold and how it was found.</param>
/// <param name="Training">The final head's training result.</param>
public sealed record WakeWordTrainingResult(string ModelPath, string Name, int Positives, int Negatives,
    IReadOnlyList<int> Mined, ThresholdCalibration Calibration, TrainingResult Training);

/// <summary>
/// Trains a wake-word detector on a folder of clean positive/negative clips (from <see cref="WakeWordDataGenerator"/>,
/// or your own): every clip is augmented several times (<see cref="WakeWordAugmenter"/>: another voice, room,
/// microphone, background) and encoded as the [16,96] embedding window ending at its end; a binary head learns
/// P(wake word); hard-negative mining scores long negative streams, adds the windows the head likes and trains
/// again; the decision threshold is calibrated on held-out negative streams for a target false-accept rate and
/// stored in the model, which is exported as ONE file (<see cref="BuildModel"/>).
/// </summary>
public static class WakeWordTrainer
{
    /// <summary>Input of an exported wake-word model: [N,16,96] speech embeddings.</summary>
    public const string InputName = "embeddings";
    /// <summary>Output: [N,1] sigmoid probability of the wake word.</summary>
    public const string ScoreName = ModelMetadata.WakeWordScoreOutput;
    /// <summary>Output: [N,2] probabilities [not the wake word, the wake word].</summary>
    public const string ProbabilitiesName = "probabilities";
    /// <summary>Metadata key holding the wake word's name.</summary>
    public const string WakeWordKey = ModelMetadata.WakeWordKey;
    /// <summary>Metadata key holding the calibrated threshold (invariant-culture number).</summary>
    public const string ThresholdKey = ModelMetadata.WakeWordThresholdKey;
    /// <summary>Metadata key holding the calibration as JSON.</summary>
    public const string CalibrationKey = "onnxtransfer.wake_word.calibration";
    /// <summary>The front end the models read.</summary>
    public const string FrontEndName = "openwakeword";

    private const int Window = 16;
    private const int Dimension = Window * SpeechFrontEnd.EmbeddingSize;

    /// <summary>
    /// Trains on <paramref name="dataDir"/> (train split: labels "positive" and "negative"; a val split, if any,
    /// calibrates the threshold) and writes the model to <paramref name="outputPath"/>. The head directory and the
    /// feature cache go to <paramref name="workDir"/> (default: beside the model).
    /// </summary>
    public static async Task<WakeWordTrainingResult> TrainAsync(string dataDir, string outputPath, SpeechFrontEnd frontEnd, WakeWordTrainingOptions options,
        string? workDir = null, IProgress<ProgressUpdate>? progress = null, CancellationToken ct = default)
    {
        var dataset = DatasetLoader.Load(dataDir, new DatasetLoadOptions { Extensions = DatasetLoadOptions.AudioExtensions });
        var items = dataset.Items.Where(i => i.Split is not ("test" or "val")).ToArray();
        var labels = items.Select(i => i.Label).Distinct().Order(StringComparer.Ordinal).ToArray();
        if (!labels.SequenceEqual([WakeWordDataGenerator.NegativeLabel, WakeWordDataGenerator.PositiveLabel]))
            throw new OnnxTransferException($"{dataDir}: training clips need exactly the labels 'negative' and 'positive' (found {string.Join(", ", labels)}); use `onnxtransfer wakeword synth` or that folder layout.");
        var name = options.Name ?? PhraseOf(dataDir) ?? new DirectoryInfo(dataDir).Name;
        workDir ??= Path.Combine(Path.GetDirectoryName(Path.GetFullPath(outputPath))!, Path.GetFileNameWithoutExtension(outputPath) + ".head");
        var cacheDir = Path.Combine(Path.GetDirectoryName(Path.GetFullPath(outputPath))!, Path.GetFileNameWithoutExtension(outputPath) + ".features");

        var negativeFiles = items.Where(i => i.Label == WakeWordDataGenerator.NegativeLabel).Select(i => i.Path).ToArray();
        var augmenter = new WakeWordAugmenter(options.Augmentation,
            options.NoiseFolder is null ? null : WakeWordAugmenter.LoadRecordings(options.NoiseFolder),
            negativeFiles.Take(400).Select(f => SignalLevel.TrimSilence(WavReader.Read(f).ResampleTo(SpeechFrontEnd.SampleRate).Samples)).ToArray());
        var examples = new WakeWordExamples(frontEnd, augmenter, options.Seed, options.Threads);

        var sources = items.Select(i => new ExampleSource(i.Path, i.Id, i.Label == WakeWordDataGenerator.PositiveLabel,
            i.Label == WakeWordDataGenerator.PositiveLabel ? options.PositiveCopies : options.NegativeCopies)).ToArray();
        var table = await examples.BuildAsync("train", sources, options.Backgrounds, cacheDir, progress, ct).ConfigureAwait(false);
        // Real recordings are built apart, so adding or changing them reuses the synthetic examples' cache.
        var real = RealClips(options.RealPositives)
            .Select(p => new ExampleSource(p, "real/" + Path.GetRelativePath(options.RealPositives!, p).Replace('\\', '/'), true, options.RealCopies)).ToArray();
        if (real.Length > 0) table = WakeWordExamples.Concat([table, await examples.BuildAsync("real", real, 0, cacheDir, progress, ct).ConfigureAwait(false)]);
        var (streams, _) = await examples.StreamsAsync("mining", negativeFiles, options.MiningMinutes, cacheDir, progress, ct).ConfigureAwait(false);
        var mining = options.MiningAudio.Count > 0 ? WakeWordExamples.Concat([streams, AudioWindows(frontEnd, options.MiningAudio, options.Threads, ct)]) : streams;
        // A tenth of the stream windows join the first round as plain negatives (openWakeWord trains on long negative audio too).
        var current = WakeWordExamples.Concat([table, mining.Where(i => i % 10 == 0)]);

        var trainingOptions = new TrainingOptions
        {
            Spec = options.Spec,
            Task = HeadTask.Binary,
            Epochs = options.Epochs,
            BatchSize = options.BatchSize,
            LearningRate = options.LearningRate,
            LabelSmoothing = options.LabelSmoothing,
            ClassWeighting = ClassWeighting.None, // weighting is done by repeating rows (see Weighted)
            Seed = options.Seed,
            FeatureSource = FrontEndName,
        };
        var mined = new List<int>();
        var added = new HashSet<int>(); // mining windows already among the rows (each joins once, whatever the round)
        TrainingResult result;
        for (var round = 0; ; round++)
        {
            ct.ThrowIfCancellationRequested();
            progress?.Report(new ProgressUpdate("train", round, options.MiningRounds + 1, "rounds", $"{current.Count} rows"));
            // Validation holds whole renders (all augmented copies of a clip, or a whole negative stream), chosen before
            // any row is repeated, so early stopping judges clips the head never trained on.
            var ids = current.Paths;
            var (_, valRows) = StratifiedSplit.Split(ids, current.Labels, 0.1, options.Seed, i => SourceOf(ids[i]));
            var valSet = valRows.ToHashSet();
            result = Trainer.Fit(Weighted(current.Where(i => !valSet.Contains(i)), options.NegativeWeight),
                Weighted(current.Where(valSet.Contains), options.NegativeWeight), trainingOptions, workDir, progress, ct);
            if (round >= options.MiningRounds) break;
            using var head = HeadModel.Load(workDir);
            var scores = Column(head.PredictProbabilities(mining.Features.AsSpan(0, mining.Count * Dimension).ToArray()), 1);
            var hard = Enumerable.Range(0, scores.Length).Where(i => scores[i] >= options.MiningThreshold && i % 10 != 0 && !added.Contains(i))
                .OrderByDescending(i => scores[i]).Take(options.MaxMinedPerRound).Order().ToArray();
            mined.Add(hard.Length);
            if (hard.Length == 0) break;
            added.UnionWith(hard);
            var hardSet = hard.ToHashSet();
            current = WakeWordExamples.Concat([current, mining.Where(hardSet.Contains)]);
        }

        using (var head = HeadModel.Load(workDir))
            BuildModel(head, name).Save(outputPath);
        var calibration = await ThresholdCalibrator.CalibrateAsync(outputPath, dataDir, frontEnd, options.TargetFalseAcceptsPerHour, options.CalibrationMinutes,
            options.Seed, options.Threads, cacheDir, progress, ct).ConfigureAwait(false);
        var positives = current.Labels.Count(l => l == WakeWordDataGenerator.PositiveLabel);
        return new WakeWordTrainingResult(outputPath, name, positives, current.Count - positives, mined, calibration, result);
    }

    /// <summary>The clip or stream an example id ("PATH#copy", "tag-streamNNNN#window") was made from.</summary>
    private static string SourceOf(string id)
    {
        var hash = id.LastIndexOf('#');
        return hash < 0 ? id : id[..hash];
    }

    private static IEnumerable<string> RealClips(string? folder)
    {
        if (folder is null) return [];
        if (!Directory.Exists(folder)) throw new OnnxTransferException($"--real {folder}: folder not found; pass a folder of .wav recordings of the phrase.");
        var files = Directory.EnumerateFiles(folder, "*.wav", SearchOption.AllDirectories).Order(StringComparer.Ordinal).ToArray();
        return files.Length > 0 ? files : throw new OnnxTransferException($"--real {folder}: no .wav files; record the phrase a few times (16 kHz mono WAV).");
    }

    /// <summary>
    /// One wake-word model from a trained binary head: input <c>embeddings</c> [N,16,96] → Reshape [N,1536] →
    /// the head → <c>score</c> [N,1] = sigmoid(logit) and <c>probabilities</c> [N,2]; metadata InputKind
    /// SpeechEmbeddings, FrontEnd openwakeword, labels [negative, name].
    /// </summary>
    public static OnnxModel BuildModel(HeadModel head, string name)
    {
        if (head.Info.Task != HeadTask.Binary || head.Dimension != Dimension)
            throw new OnnxTransferException($"{head.Directory}: a wake-word model needs a binary head on {Dimension} features (16 × 96 embeddings), got {head.Info.Task} on {head.Dimension}; train it with `onnxtransfer wakeword train`.");
        var front = OnnxModel.Create("wakeword_input", head.EvalModel.OpsetVersion());
        var g = new GraphBuilder(front.Graph);
        var input = g.Input(InputName, DataType.Float, [null, Window, SpeechFrontEnd.EmbeddingSize], ["batch"]);
        var flat = g.Node("Reshape", [input, g.Int64s("flat_shape", -1, Dimension)]);
        var model = ModelMerger.Merge(front, flat, head.EvalModel, HeadGraphBuilder.Features);

        var builder = new GraphBuilder(model.Graph);
        var score = builder.Node("Sigmoid", [HeadGraphBuilder.Logits]);
        builder.Alias(score, ScoreName);
        var outputs = model.Graph.Output.ToArray();
        model.Graph.Output.Clear();
        builder.Output(ScoreName, DataType.Float, [null, 1], ["batch"]);
        foreach (var o in outputs.Where(o => o.Name == HeadGraphBuilder.Probabilities)) model.Graph.Output.Add(o);
        GraphEditor.Prune(model.Graph, keepInputs: true);

        new ModelMetadata
        {
            Labels = [WakeWordDataGenerator.NegativeLabel, name],
            InputKind = ModelInputKind.SpeechEmbeddings,
            FrontEnd = FrontEndName,
            Head = head.Info.Spec,
            Task = "binary",
            MetricsJson = JsonText.Write(head.Info.Metrics, WakeWordsJson.Default.HeadMetrics, indented: false),
        }.WriteTo(model);
        model.SetMetadata(WakeWordKey, name);
        return model;
    }

    /// <summary>
    /// Rows repeated so that total negative weight / total positive weight ≈ <paramref name="negativeWeight"/>
    /// (whole repeats of the rarer side; the trainer has no per-row weights).
    /// </summary>
    public static FeatureTable Weighted(FeatureTable table, double negativeWeight)
    {
        var pos = table.Labels.Count(l => l == WakeWordDataGenerator.PositiveLabel);
        var neg = table.Count - pos;
        if (pos == 0 || neg == 0 || negativeWeight <= 0) return table;
        var ratio = negativeWeight * pos / neg; // repeats of each negative per positive
        int posRepeat = 1, negRepeat = 1;
        if (ratio >= 1) negRepeat = (int)Math.Round(ratio); else posRepeat = (int)Math.Round(1 / ratio);
        if (posRepeat == 1 && negRepeat == 1) return table;
        var rows = new List<int>();
        for (var i = 0; i < table.Count; i++)
        {
            var repeat = table.Labels[i] == WakeWordDataGenerator.PositiveLabel ? posRepeat : negRepeat;
            for (var k = 0; k < repeat; k++) rows.Add(i);
        }
        var features = new float[rows.Count * table.Dimension];
        for (var r = 0; r < rows.Count; r++) table.Row(rows[r]).CopyTo(features.AsSpan(r * table.Dimension));
        return new FeatureTable(rows.Select(i => table.Paths[i]).ToArray(), rows.Select(i => table.Labels[i]).ToArray(),
            rows.Select(i => table.Splits[i]).ToArray(), features, table.Dimension);
    }

    /// <summary>The phrase recorded in <paramref name="dataDir"/>/synth.json, if any.</summary>
    public static string? PhraseOf(string dataDir)
    {
        try { return SynthesisManifest.TryRead(dataDir)?.Phrase; }
        catch (OnnxTransferException) { return null; }
    }

    /// <summary>All [16,96] windows (flattened) of the given long audio files, labelled negative.</summary>
    private static FeatureTable AudioWindows(SpeechFrontEnd frontEnd, IReadOnlyList<string> files, int threads, CancellationToken ct)
    {
        var tables = new FeatureTable[files.Count];
        Parallel.For(0, files.Count, new ParallelOptions { MaxDegreeOfParallelism = Math.Max(1, threads), CancellationToken = ct }, f =>
        {
            var flat = StreamWindows(frontEnd.Embed(WavReader.Read(files[f]).ResampleTo(SpeechFrontEnd.SampleRate).Samples), Window);
            var rows = flat.Length / Dimension;
            // Named by position and file name, not by absolute path, so the same audio mines the same way wherever it lies.
            tables[f] = new FeatureTable(Enumerable.Range(0, rows).Select(r => $"mine{f:D3}-{Path.GetFileName(files[f])}#{r}").ToArray(),
                Enumerable.Repeat(WakeWordDataGenerator.NegativeLabel, rows).ToArray(), Enumerable.Repeat("train", rows).ToArray(), flat, Dimension);
        });
        return WakeWordExamples.Concat(tables);
    }

    /// <summary>Every run of <paramref name="window"/> consecutive embeddings of row-major [E,96], flattened: [E − window + 1, window·96].</summary>
    public static float[] StreamWindows(float[] embeddings, int window)
    {
        const int d = SpeechFrontEnd.EmbeddingSize;
        var count = Math.Max(0, embeddings.Length / d - window + 1);
        var result = new float[count * window * d];
        for (var j = 0; j < count; j++) embeddings.AsSpan(j * d, window * d).CopyTo(result.AsSpan(j * window * d));
        return result;
    }

    private static float[] Column(float[] probabilities, int column)
    {
        var result = new float[probabilities.Length / 2];
        for (var i = 0; i < result.Length; i++) result[i] = probabilities[2 * i + column];
        return result;
    }
}
