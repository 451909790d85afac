using System.Globalization;
using OnnxTransfer.Audio;
using OnnxTransfer.Data;
using OnnxTransfer.Evaluation;
using OnnxTransfer.Onnx;

namespace OnnxTransfer.WakeWords;

/// <summary>The decision threshold stored in a wake-word model and the audio it was calibrated on.</summary>
/// <param name="Threshold">Score threshold (used by <c>wakeword detect</c> unless --threshold is given).</param>
/// <param name="TargetFalseAcceptsPerHour">The false-accept rate it was chosen for.</param>
/// <param name="FalseAcceptsPerHour">The false-accept rate it gave on the calibration audio.</param>
/// <param name="Hours">Hours of calibration audio.</param>
/// <param name="Source">What the calibration audio was.</param>
/// <param name="ValFalseRejectRate">False-reject rate on the val positives at that threshold (synthetic voices held out from training; not evidence about real voices), or null.</param>
public sealed record ThresholdCalibration(double Threshold, double TargetFalseAcceptsPerHour, double FalseAcceptsPerHour, double Hours, string Source,
    double? ValFalseRejectRate);

/// <summary>
/// Chooses a wake-word model's decision threshold: the lowest one whose false accepts per hour on held-out
/// negative streams meet a target (optionally never one rejecting more than a given share of the held-out
/// positives), and stores it in the model's metadata. The streams are everyday speech (no near
/// misses, no rare dictionary words) of the dataset's val voices, which training never heard, placed in realistic
/// conditions: rooms, microphones and background at 10–30 dB SNR, but none of the voice transformations and
/// very low SNRs that only exist to widen training (they make a far harsher test than people in a room).
/// </summary>
internal static class ThresholdCalibrator
{
    /// <summary>The conditions of the calibration audio.</summary>
    public static WakeWordAugmentationOptions Conditions { get; } = new()
    {
        VoiceProbability = 0, RoomProbability = 0.5, ChannelProbability = 0.3, NoiseProbability = 0.9, MinSnrDb = 10, MaxSnrDb = 30,
    };

    /// <summary>
    /// The highest of <paramref name="thresholds"/> that rejects at most <paramref name="maxFalseRejectRate"/> of
    /// <paramref name="positiveScores"/> (the lowest threshold when none does; +∞ without positives).
    /// </summary>
    public static double RejectBound(IReadOnlyList<float> positiveScores, IEnumerable<double> thresholds, double maxFalseRejectRate)
    {
        if (positiveScores.Count == 0) return double.PositiveInfinity;
        var ordered = thresholds.Order().ToArray();
        var allowed = ordered.Where(t => positiveScores.Count(v => v < t) <= maxFalseRejectRate * positiveScores.Count).ToArray();
        return allowed.Length > 0 ? allowed[^1] : ordered[0];
    }

    /// <summary>
    /// Calibrates <paramref name="modelPath"/> on <paramref name="dataDir"/> (a `wakeword synth` folder) for
    /// <paramref name="targetFalseAcceptsPerHour"/> and rewrites the model with the threshold in its metadata.
    /// With <paramref name="maxValFalseRejectRate"/>, the threshold is lowered where needed so that at most that
    /// share of the val positives is rejected (<see cref="RejectBound"/>), at the cost of false accepts on the
    /// calibration audio (reported). Not the default: val voices are synthetic, and on real audio the cap was
    /// measured to cost more false accepts than it saves false rejects.
    /// </summary>
    public static async Task<ThresholdCalibration> CalibrateAsync(string modelPath, string dataDir, SpeechFrontEnd frontEnd, double targetFalseAcceptsPerHour,
        double minutes = 15, ulong seed = 1, int threads = 0, string? cacheDir = null, IProgress<ProgressUpdate>? progress = null, CancellationToken ct = default,
        double? maxValFalseRejectRate = null)
    {
        if (targetFalseAcceptsPerHour < 0 || double.IsNaN(targetFalseAcceptsPerHour))
            throw new OnnxTransferException($"--target-fa-per-hour {targetFalseAcceptsPerHour}: must be zero or more.");
        var dataset = DatasetLoader.Load(dataDir, new DatasetLoadOptions { Extensions = DatasetLoadOptions.AudioExtensions });
        var held = EverydaySpeech(dataDir, dataset.Items.Where(i => i.Split is "val").ToArray());
        var heldNegatives = held.Where(i => i.Label == WakeWordDataGenerator.NegativeLabel).Select(i => i.Path).ToArray();
        var source = "val-voice everyday speech";
        if (heldNegatives.Length == 0)
        {
            // No held-out voices: fresh augmentations of the training negatives (their voices were heard: optimistic).
            heldNegatives = EverydaySpeech(dataDir, dataset.Items.Where(i => i.Split is not ("val" or "test") && i.Label == WakeWordDataGenerator.NegativeLabel).ToArray())
                .Select(i => i.Path).ToArray();
            source = "training-voice everyday speech (no val split)";
        }
        if (heldNegatives.Length == 0) throw new OnnxTransferException($"{dataDir}: no negative clips to calibrate the threshold on; synthesize with `wakeword synth`.");
        var examples = new WakeWordExamples(frontEnd, new WakeWordAugmenter(Conditions), seed, threads > 0 ? threads : Environment.ProcessorCount);
        var (streams, seconds) = await examples.StreamsAsync("calibration", heldNegatives, minutes, cacheDir, progress, ct).ConfigureAwait(false);

        using var model = new WakeWordModel(modelPath);
        var scores = Score(model, streams.Features, streams.Count);
        var perStream = Enumerable.Range(0, streams.Count).GroupBy(i => streams.Paths[i].Split('#')[0]).Select(g => g.Select(i => scores[i]).ToArray()).ToArray();
        var hours = seconds / 3600;
        var det = new WakeWordEvaluationOptions().Thresholds.Select(t => new DetPoint(t, 0,
            perStream.Sum(s => WakeWordEvaluator.CountFalseAccepts(s, 0.08, t, 1, 1.5)) / hours)).ToArray();
        var threshold = WakeWordEvaluator.RecommendThreshold(det, targetFalseAcceptsPerHour);
        double? valFrr = null;
        var heldPositives = held.Where(i => i.Label == WakeWordDataGenerator.PositiveLabel).Select(i => new ExampleSource(i.Path, i.Id, true, 1)).ToArray();
        if (heldPositives.Length > 0)
        {
            var positives = await examples.BuildAsync("calibration-positives", heldPositives, 0, cacheDir, progress, ct).ConfigureAwait(false);
            var positiveScores = Score(model, positives.Features, positives.Count);
            var bound = maxValFalseRejectRate is { } cap ? RejectBound(positiveScores, det.Select(p => p.Threshold), cap) : double.PositiveInfinity;
            if (bound < threshold) { threshold = bound; source += $"; capped at {maxValFalseRejectRate:P0} val-positive false rejects"; }
            valFrr = positiveScores.Count(v => v < threshold) / (double)positives.Count;
        }
        var calibration = new ThresholdCalibration(threshold, targetFalseAcceptsPerHour, det.First(p => p.Threshold == threshold).FalseAcceptsPerHour,
            hours, source, valFrr);
        model.Dispose();
        Store(modelPath, calibration);
        return calibration;
    }

    /// <summary>Writes <paramref name="calibration"/> into the metadata of the model at <paramref name="modelPath"/> (atomically).</summary>
    public static void Store(string modelPath, ThresholdCalibration calibration)
    {
        var onnx = OnnxModel.Load(modelPath);
        onnx.SetMetadata(WakeWordTrainer.ThresholdKey, calibration.Threshold.ToString("R", CultureInfo.InvariantCulture));
        onnx.SetMetadata(WakeWordTrainer.CalibrationKey, JsonText.Write(calibration, WakeWordsJson.Default.ThresholdCalibration, indented: false));
        onnx.Save(modelPath);
    }

    /// <summary>
    /// The clips of everyday speech (per synth.json: no near misses of the phrase, no rare dictionary words): those
    /// teach the head where the phrase ends, but a false-accept rate is about everyday speech.
    /// </summary>
    internal static DatasetItem[] EverydaySpeech(string dataDir, IEnumerable<DatasetItem> clips)
    {
        var unusual = SynthesisManifest.TryRead(dataDir)?.Clips.Where(c => c.Kind is "near-miss" or "sound-alike" or "dictionary-word" or "words")
            .Select(c => Path.GetFullPath(Path.Combine(dataDir, c.Path))).ToHashSet(StringComparer.Ordinal) ?? [];
        return clips.Where(c => !unusual.Contains(Path.GetFullPath(c.Path))).ToArray();
    }

    private static float[] Score(IWakeWordScorer model, float[] features, int rows)
    {
        var scores = new float[rows];
        if (rows > 0) model.Score(features.AsSpan(0, rows * WakeWordExamples.Dimension), scores);
        return scores;
    }
}
