namespace OnnxTransfer.Inference;

/// <summary>One label and its probability.</summary>
/// <param name="Label">Class label.</param>
/// <param name="Probability">Its probability (0..1).</param>
public readonly record struct LabelScore(string Label, float Probability);

/// <summary>
/// What a model says about one input: the most probable label, and every label's probability. For multi-label
/// models the probabilities are independent (they need not sum to 1) and <see cref="Label"/> is the likeliest one.
/// </summary>
public sealed class Prediction
{
    private readonly IReadOnlyList<string> _labels;
    private readonly float[] _probabilities;
    private IReadOnlyDictionary<string, float>? _byLabel;

    /// <summary>Creates a prediction; <paramref name="probabilities"/> are in <paramref name="labels"/>' order.</summary>
    public Prediction(IReadOnlyList<string> labels, IReadOnlyList<float> probabilities, int index)
    {
        ArgumentNullException.ThrowIfNull(labels);
        ArgumentNullException.ThrowIfNull(probabilities);
        if (labels.Count != probabilities.Count)
            throw new ArgumentException($"{probabilities.Count} probabilities for {labels.Count} labels.", nameof(probabilities));
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(index, labels.Count);
        _labels = labels;
        _probabilities = probabilities.ToArray();
        Index = index;
    }

    /// <summary>The predicted class index (the model's <c>label</c> output).</summary>
    public int Index { get; }

    /// <summary>The predicted label.</summary>
    public string Label => _labels[Index];

    /// <summary>The probability of <see cref="Label"/>.</summary>
    public float Score => _probabilities[Index];

    /// <summary>Every label, in the model's output order.</summary>
    public IReadOnlyList<string> Labels => _labels;

    /// <summary>Probabilities in the model's output order (parallel to <see cref="Labels"/>).</summary>
    public IReadOnlyList<float> Values => _probabilities;

    /// <summary>Probability per label.</summary>
    public IReadOnlyDictionary<string, float> Probabilities =>
        _byLabel ??= _labels.Select((l, i) => (l, i)).ToDictionary(x => x.l, x => _probabilities[x.i], StringComparer.Ordinal);

    /// <summary>The <paramref name="k"/> most probable labels, best first (ties keep output order).</summary>
    public IReadOnlyList<LabelScore> Top(int k)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(k, 1);
        return Enumerable.Range(0, _probabilities.Length)
            .OrderByDescending(i => _probabilities[i]).ThenBy(i => i)
            .Take(k)
            .Select(i => new LabelScore(_labels[i], _probabilities[i]))
            .ToArray();
    }

    /// <summary>"label (0.973)".</summary>
    public override string ToString() => $"{Label} ({Score.ToString("0.000", System.Globalization.CultureInfo.InvariantCulture)})";
}

/// <summary>The outcome for one file of <see cref="TransferModel.PredictFiles"/>: a prediction or the reason there is none.</summary>
/// <param name="Path">The file.</param>
/// <param name="Prediction">The prediction, or null when the file could not be read.</param>
/// <param name="Error">One line saying why the file failed (names the file), or null.</param>
public sealed record FilePrediction(string Path, Prediction? Prediction, string? Error)
{
    /// <summary>True when <see cref="Prediction"/> is set.</summary>
    public bool Succeeded => Prediction is not null;
}
