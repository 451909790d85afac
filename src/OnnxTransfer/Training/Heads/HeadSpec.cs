using System.Globalization;

namespace OnnxTransfer.Training.Heads;

/// <summary>What a head predicts and which loss trains it.</summary>
[System.Text.Json.Serialization.JsonConverter(typeof(System.Text.Json.Serialization.JsonStringEnumConverter<HeadTask>))]
public enum HeadTask
{
    /// <summary>Two classes, one logit: sigmoid + binary cross-entropy with logits.</summary>
    Binary,
    /// <summary>One of C classes: softmax cross-entropy (optional label smoothing).</summary>
    MultiClass,
    /// <summary>Any subset of C labels: per-label sigmoid + binary cross-entropy.</summary>
    MultiLabel,
}

/// <summary>
/// The architecture of a trainable head, written as text in the CLI, head.json and model metadata:
/// <c>linear</c>, or <c>mlp:H1[,H2...]</c> followed by optional <c>+layernorm</c> and <c>+dropout=P</c>
/// (e.g. <c>mlp:256,128+layernorm+dropout=0.2</c>). Each hidden block is Linear → [LayerNorm] → ReLU →
/// [Dropout] (openWakeWord's head is Linear → LayerNorm → ReLU blocks); the last layer is Linear to the
/// outputs. <see cref="Parse"/> and <see cref="ToString"/> round-trip.
/// </summary>
public sealed record HeadSpec
{
    /// <summary>A head with no hidden layers (logistic / softmax regression).</summary>
    public static HeadSpec Linear { get; } = new([], false, 0);

    /// <summary>Creates a spec; <paramref name="hidden"/> empty means linear.</summary>
    public HeadSpec(IReadOnlyList<int> hidden, bool layerNorm = false, double dropout = 0)
    {
        if (hidden.Any(h => h <= 0))
            throw new OnnxTransferException($"head spec: hidden sizes must be positive (got {string.Join(",", hidden)}).");
        if (dropout is < 0 or >= 1 || double.IsNaN(dropout))
            throw new OnnxTransferException($"head spec: dropout {dropout} must be in [0, 1).");
        if (hidden.Count == 0 && (layerNorm || dropout > 0))
            throw new OnnxTransferException("head spec: layernorm and dropout need hidden layers; use e.g. 'mlp:128+layernorm'.");
        Hidden = hidden.ToArray();
        LayerNorm = layerNorm;
        Dropout = dropout;
    }

    /// <summary>Hidden layer widths (empty for a linear head).</summary>
    public IReadOnlyList<int> Hidden { get; }

    /// <summary>LayerNorm after each hidden Linear (before ReLU).</summary>
    public bool LayerNorm { get; }

    /// <summary>Dropout probability after each hidden ReLU (0 = none).</summary>
    public double Dropout { get; }

    /// <summary>True for a head without hidden layers.</summary>
    public bool IsLinear => Hidden.Count == 0;

    /// <summary>Parses <c>linear</c> or <c>mlp:H1[,H2...][+layernorm][+dropout=P]</c> (case-insensitive).</summary>
    public static HeadSpec Parse(string text)
    {
        var t = text.Trim().ToLowerInvariant();
        const string Fix = "write 'linear' or 'mlp:256,128[+layernorm][+dropout=0.2]'";
        if (t == "linear") return Linear;
        if (!t.StartsWith("mlp:", StringComparison.Ordinal))
            throw new OnnxTransferException($"head spec '{text}' is not recognised; {Fix}.");
        var parts = t[4..].Split('+');
        var hidden = new List<int>();
        foreach (var h in parts[0].Split(','))
        {
            if (!int.TryParse(h.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var n) || n <= 0)
                throw new OnnxTransferException($"head spec '{text}': hidden size '{h}' is not a positive integer; {Fix}.");
            hidden.Add(n);
        }
        bool layerNorm = false;
        double dropout = 0;
        foreach (var p in parts.Skip(1))
        {
            var opt = p.Trim();
            if (opt == "layernorm") layerNorm = true;
            else if (opt.StartsWith("dropout=", StringComparison.Ordinal)
                     && double.TryParse(opt[8..], NumberStyles.Float, CultureInfo.InvariantCulture, out var d) && d is >= 0 and < 1)
                dropout = d;
            else
                throw new OnnxTransferException($"head spec '{text}': option '{opt}' is not recognised; {Fix}.");
        }
        return new HeadSpec(hidden, layerNorm, dropout);
    }

    /// <summary>The canonical text form (parsable by <see cref="Parse"/>).</summary>
    public override string ToString()
    {
        if (IsLinear) return "linear";
        var s = "mlp:" + string.Join(",", Hidden);
        if (LayerNorm) s += "+layernorm";
        if (Dropout > 0) s += "+dropout=" + Dropout.ToString("R", CultureInfo.InvariantCulture);
        return s;
    }

    /// <summary>Specs are equal when their text forms are.</summary>
    public bool Equals(HeadSpec? other) => other is not null && ToString() == other.ToString();

    /// <inheritdoc />
    public override int GetHashCode() => ToString().GetHashCode(StringComparison.Ordinal);
}
