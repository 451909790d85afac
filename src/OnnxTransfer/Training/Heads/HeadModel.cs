using Microsoft.ML.OnnxRuntime;
using OnnxTransfer.Features;
using OnnxTransfer.Onnx;

using OnnxTransfer.Runtime;

namespace OnnxTransfer.Training.Heads;

/// <summary>
/// A trained head loaded from its directory (head.json + eval.onnx): turns feature rows into class
/// probabilities. Binary heads give two columns [P(classes[0]), P(classes[1])]; multi-label heads give
/// an independent probability per label.
/// </summary>
public sealed class HeadModel : IDisposable
{
    private readonly InferenceSession _session;
    private readonly ResourceGuard _guard = new(nameof(HeadModel));

    private HeadModel(HeadInfo info, OnnxModel eval, InferenceSession session, string directory)
    {
        Info = info;
        EvalModel = eval;
        _session = session;
        Directory = directory;
    }

    /// <summary>The head's description.</summary>
    public HeadInfo Info { get; }
    /// <summary>The eval graph (features → logits, probabilities) with the trained weights.</summary>
    public OnnxModel EvalModel { get; }
    /// <summary>The directory the head was loaded from.</summary>
    public string Directory { get; }
    /// <summary>Class names in probability-column order.</summary>
    public IReadOnlyList<string> Classes => Info.Classes;
    /// <summary>Feature vector length the head reads.</summary>
    public int Dimension => Info.FeatureDimension;

    /// <summary>Loads a head directory written by <see cref="Trainer"/>; <paramref name="sessions"/> picks the device (null: one CPU thread).</summary>
    public static HeadModel Load(string headDir, SessionFactory? sessions = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(headDir);
        var info = HeadInfo.Load(headDir);
        var eval = OnnxModel.Load(Path.Combine(headDir, Trainer.EvalGraphFile));
        using var owned = sessions is null ? SessionFactory.ForTraining(ExecutionDevice.Cpu, 1) : null;
        return new HeadModel(info, eval, (sessions ?? owned!).CreateSession(eval.ToBytes()), headDir);
    }

    /// <summary>Probabilities for row-major <paramref name="features"/> (rows × <see cref="Dimension"/>), row-major rows × classes.</summary>
    public float[] PredictProbabilities(ReadOnlyMemory<float> features)
    {
        if (features.Length % Dimension != 0)
            throw new OnnxTransferException($"{Directory}: {features.Length} feature values are not whole rows of dimension {Dimension}; use features from the backbone this head was trained on.");
        var rows = features.Length / Dimension;
        if (rows == 0) return [];
        var copy = features.ToArray();
        using var lease = _guard.Enter();
        using var x = OrtValue.CreateTensorValueFromMemory(copy, [rows, Dimension]);
        using var runOptions = new RunOptions();
        using var result = _session.Run(runOptions, [HeadGraphBuilder.Features], [x], [HeadGraphBuilder.Probabilities]);
        return result[0].GetTensorDataAsSpan<float>().ToArray();
    }

    /// <summary>Probabilities for every row of <paramref name="table"/>.</summary>
    public float[] PredictProbabilities(FeatureTable table)
    {
        ArgumentNullException.ThrowIfNull(table);
        if (table.Dimension != Dimension)
            throw new OnnxTransferException($"{Directory}: the head reads {Dimension}-dimensional features but the table has {table.Dimension}; extract features with the same backbone.");
        return PredictProbabilities(table.Features);
    }

    /// <summary>The most probable class index of each row (single-label heads).</summary>
    public int[] PredictClasses(ReadOnlyMemory<float> features)
    {
        var p = PredictProbabilities(features);
        var c = Classes.Count;
        var result = new int[p.Length / c];
        for (var r = 0; r < result.Length; r++)
        {
            var best = 0;
            for (var k = 1; k < c; k++) if (p[r * c + k] > p[r * c + best]) best = k;
            result[r] = best;
        }
        return result;
    }

    /// <inheritdoc />
    public void Dispose()
    {
        if (_guard.Close()) _session.Dispose();
    }
}
