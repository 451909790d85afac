using System.Text.Json;
using OnnxTransfer.Audio;
using OnnxTransfer.Data;
using OnnxTransfer.Export;
using OnnxTransfer.Features;
using OnnxTransfer.Onnx;
using OnnxTransfer.Training;
using DataType = OnnxTransfer.Onnx.Proto.TensorProto.Types.DataType;

namespace OnnxTransfer.WakeWords;

/// <summary>How <see cref="WakeWordTrainer"/> trains a wake-word head.</summary>
public sealed record WakeWordTrainingOptions
{
    /// <summary>The wake word's name (metadata and detections); null = the phrase in synth.json, else the data folder's name.</summary>
    public string? Name { get; init; }
    /// <summary>Head architecture (openWakeWord: Linear → LayerNorm → ReLU blocks).</summary>
    public HeadSpec Spec { get; init; } = HeadSpec.Parse("mlp:128,128+layernorm");
    /// <summary>Training epochs per round.</summary>
    public int Epochs { get; init; } = 40;
    /// <summary>Mini-batch size.</summary>
    public int BatchSize { get; init; } = 128;
    /// <summary>Base learning rate.</summary>
    public double LearningRate { get; init; } = 1e-3;
    /// <summary>
    /// Total weight of the negative rows relative to the positive rows (rows are repeated to reach it):
    /// above 1 trades false rejects for fewer false accepts, as openWakeWord's negative weighting does.
    /// </summary>
    public double NegativeWeight { get; init; } = 3;
    /// <summary>Hard-negative mining rounds after the first fit (0 = none).</summary>
    public int MiningRounds { get; init; } = 1;
    /// <summary>Windows of the negative stream scoring at or above this are added as negatives when mining.</summary>
    public double MiningThreshold { get; init; } = 0.1;
    /// <summary>At most this many mined windows per round (highest scores first).</summary>
    public int MaxMinedPerRound { get; init; } = 2000;
    /// <summary>Extra long negative audio (.wav files) to mine; the training negatives are always mined.</summary>
    public IReadOnlyList<string> MiningAudio { get; init; } = [];
    /// <summary>Seed of initialisation and shuffling.</summary>
    public ulong Seed { get; init; } = 1;
    /// <summary>Threads for feature extraction.</summary>
    public int Threads { get; init; } = Environment.ProcessorCount;
}

/// <summary>Outcome of <see cref="WakeWordTrainer.Train"/>.</summary>
/// <param name="ModelPath">The exported wake-word model.</param>
/// <param name="Name">Wake word name.</param>
/// <param name="Positives">Positive training clips.</param>
/// <param name="Negatives">Negative training clips.</param>
/// <param name="Mined">Hard negatives added per mining round.</param>
/// <param name="Training">The final head's training result.</param>
public sealed record WakeWordTrainingResult(string ModelPath, string Name, int Positives, int Negatives,
    IReadOnlyList<int> Mined, TrainingResult Training);

/// <summary>
/// Trains a wake-word detector on a folder dataset of positive/negative clips (e.g. from
/// <see cref="WakeWordDataGenerator"/>): each clip becomes the [16,96] embedding window ending at its end
/// (<see cref="AudioClipEncoder"/>), flattened to 1536 values; a binary head learns P(wake word); optional
/// hard-negative mining scores the negatives as one long stream, adds the windows the head likes and trains
/// again; the result is exported as ONE model (<see cref="BuildModel"/>).
/// </summary>
public static class WakeWordTrainer
{
    /// <summary>Input of an exported wake-word model: [N,16,96] speech embeddings.</summary>
    public const string InputName = "embeddings";
    /// <summary>Output: [N,1] sigmoid probability of the wake word.</summary>
    public const string ScoreName = "score";
    /// <summary>Output: [N,2] probabilities [not the wake word, the wake word].</summary>
    public const string ProbabilitiesName = "probabilities";
    /// <summary>Metadata key holding the wake word's name.</summary>
    public const string WakeWordKey = "onnxtransfer.wake_word";
    /// <summary>The front end the models read.</summary>
    public const string FrontEndName = "openwakeword";

    private const int Window = 16;
    private const int Dimension = Window * SpeechFrontEnd.EmbeddingSize;

    /// <summary>
    /// Trains on <paramref name="dataDir"/> (labels "positive" and "negative"; a "test" split is left alone)
    /// and writes the model to <paramref name="outputPath"/>. The head directory (graphs, checkpoint) goes to
    /// <paramref name="workDir"/> (default: beside the model).
    /// </summary>
    public static WakeWordTrainingResult Train(string dataDir, string outputPath, SpeechFrontEnd frontEnd, WakeWordTrainingOptions options,
        string? workDir = null, IProgress<ProgressUpdate>? progress = null, CancellationToken ct = default)
    {
        var dataset = DatasetLoader.Load(dataDir, new DatasetLoadOptions { Extensions = DatasetLoadOptions.AudioExtensions });
        var items = dataset.Items.Where(i => i.Split is not ("test" or "val")).ToArray();
        var labels = items.Select(i => i.Label).Distinct().Order(StringComparer.Ordinal).ToArray();
        if (!labels.SequenceEqual([WakeWordDataGenerator.NegativeLabel, WakeWordDataGenerator.PositiveLabel]))
            throw new OnnxTransferException($"{dataDir}: training clips need exactly the labels 'negative' and 'positive' (found {string.Join(", ", labels)}); use `onnxtransfer wakeword synth` or that folder layout.");
        var name = options.Name ?? PhraseOf(dataDir) ?? new DirectoryInfo(dataDir).Name;

        var encoder = new AudioClipEncoder(frontEnd, Window);
        var features = new float[items.Length * Dimension];
        var done = 0;
        Parallel.For(0, items.Length, new ParallelOptions { MaxDegreeOfParallelism = Math.Max(1, options.Threads), CancellationToken = ct }, i =>
        {
            encoder.Encode(items[i], features.AsSpan(i * Dimension, Dimension));
            var n = Interlocked.Increment(ref done);
            if (n % 50 == 0 || n == items.Length) progress?.Report(new ProgressUpdate("features", n, items.Length, "clips"));
        });
        var table = new FeatureTable(items.Select(i => i.Path).ToArray(), items.Select(i => i.Label).ToArray(),
            items.Select(_ => "train").ToArray(), features, Dimension);
        var positives = table.Labels.Count(l => l == WakeWordDataGenerator.PositiveLabel);
        var negatives = table.Count - positives;

        // Long negative stream for mining: every training negative back to back, plus the extra audio.
        var mining = options.MiningRounds > 0 ? MiningWindows(frontEnd, items, options, ct) : [];

        workDir ??= Path.Combine(Path.GetDirectoryName(Path.GetFullPath(outputPath))!, Path.GetFileNameWithoutExtension(outputPath) + ".head");
        var trainingOptions = new TrainingOptions
        {
            Spec = options.Spec,
            Task = HeadTask.Binary,
            Epochs = options.Epochs,
            BatchSize = options.BatchSize,
            LearningRate = options.LearningRate,
            ClassWeighting = ClassWeighting.None, // weighting is done by repeating rows (see Weighted)
            Seed = options.Seed,
            FeatureSource = FrontEndName,
        };
        var mined = new List<int>();
        var current = table;
        TrainingResult result = null!;
        for (var round = 0; ; round++)
        {
            ct.ThrowIfCancellationRequested();
            progress?.Report(new ProgressUpdate("train", round, options.MiningRounds + 1, "rounds", $"{current.Count} rows"));
            // Hold out validation rows before repeating any, so no copy of a validation row is trained on.
            var (_, valRows) = Trainer.StratifiedSplit(TrainingSet.FromTable(current), 0.1, options.Seed);
            var valSet = valRows.ToHashSet();
            result = Trainer.Fit(Weighted(current.Where(i => !valSet.Contains(i)), options.NegativeWeight),
                Weighted(current.Where(valSet.Contains), options.NegativeWeight), trainingOptions, workDir, progress, ct);
            if (round >= options.MiningRounds || mining.Length == 0) break;
            using var head = HeadModel.Load(workDir);
            var scores = Column(head.PredictProbabilities(mining), 1);
            var hard = Enumerable.Range(0, scores.Length).Where(i => scores[i] >= options.MiningThreshold)
                .OrderByDescending(i => scores[i]).Take(options.MaxMinedPerRound).Order().ToArray();
            mined.Add(hard.Length);
            if (hard.Length == 0) break;
            current = Append(current, mining, hard, $"mined{round + 1}");
        }

        using (var head = HeadModel.Load(workDir))
        {
            var model = BuildModel(head, name);
            model.Save(outputPath);
        }
        return new WakeWordTrainingResult(outputPath, name, positives, negatives, mined, result);
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
            MetricsJson = JsonSerializer.Serialize(head.Info.Metrics),
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
        var path = Path.Combine(dataDir, SynthesisManifest.FileName);
        if (!File.Exists(path)) return null;
        try
        {
            using var doc = JsonDocument.Parse(File.ReadAllText(path));
            return doc.RootElement.TryGetProperty(nameof(SynthesisManifest.Phrase), out var p) ? p.GetString() : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary>All [16,96] windows (flattened) of a long stream made of the negatives and the extra audio.</summary>
    private static float[] MiningWindows(SpeechFrontEnd frontEnd, IReadOnlyList<DatasetItem> items, WakeWordTrainingOptions options, CancellationToken ct)
    {
        var sources = items.Where(i => i.Label == WakeWordDataGenerator.NegativeLabel).Select(i => i.Path).Concat(options.MiningAudio).ToArray();
        var pieces = new List<float[]>();
        foreach (var path in sources)
        {
            ct.ThrowIfCancellationRequested();
            pieces.Add(WavReader.Read(path).ResampleTo(SpeechFrontEnd.SampleRate).Samples);
        }
        // Streams of about a minute each, so the embedding passes run in parallel.
        var streams = new List<float[]>();
        var buffer = new List<float>();
        foreach (var p in pieces)
        {
            buffer.AddRange(p);
            if (buffer.Count >= 60 * SpeechFrontEnd.SampleRate) { streams.Add(buffer.ToArray()); buffer.Clear(); }
        }
        if (buffer.Count > 0) streams.Add(buffer.ToArray());
        var windows = new float[streams.Count][];
        Parallel.For(0, streams.Count, new ParallelOptions { MaxDegreeOfParallelism = Math.Max(1, options.Threads), CancellationToken = ct },
            s => windows[s] = StreamWindows(frontEnd.Embed(streams[s]), Window));
        return windows.SelectMany(w => w).ToArray();
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

    private static FeatureTable Append(FeatureTable table, float[] windows, int[] rows, string source)
    {
        var features = new float[(table.Count + rows.Length) * Dimension];
        table.Features.AsSpan(0, table.Count * Dimension).CopyTo(features);
        for (var k = 0; k < rows.Length; k++)
            windows.AsSpan(rows[k] * Dimension, Dimension).CopyTo(features.AsSpan((table.Count + k) * Dimension));
        return new FeatureTable(
            table.Paths.Concat(rows.Select(r => $"{source}#{r}")).ToArray(),
            table.Labels.Concat(rows.Select(_ => WakeWordDataGenerator.NegativeLabel)).ToArray(),
            table.Splits.Concat(rows.Select(_ => "train")).ToArray(), features, Dimension);
    }
}
