using OnnxTransfer.Training.Engine;

namespace OnnxTransfer.Training.Heads;

/// <summary>
/// Per-feature standardisation x' = (x − μ)/σ (training-row statistics, float64) for the full-batch solve, and
/// the exact map between a linear head's parameters on standardised and on raw features:
/// W = W'/σ, b = b' − Σ_d μ_d·W'_d/σ_d. Constant features keep σ = 1, so their weight stays at the penalty's 0.
/// </summary>
internal sealed class FeatureScaling
{
    private readonly double[] _mean;
    private readonly double[] _scale;

    private FeatureScaling(double[] mean, double[] scale) { _mean = mean; _scale = scale; }

    /// <summary>Statistics of <paramref name="rows"/>.</summary>
    public static FeatureScaling Fit(TrainingSet rows)
    {
        var d = rows.Dimension;
        var mean = new double[d];
        var sq = new double[d];
        for (var r = 0; r < rows.Count; r++)
        {
            var row = rows.Features.AsSpan(r * d, d);
            for (var j = 0; j < d; j++) mean[j] += row[j];
        }
        for (var j = 0; j < d; j++) mean[j] /= rows.Count;
        for (var r = 0; r < rows.Count; r++)
        {
            var row = rows.Features.AsSpan(r * d, d);
            for (var j = 0; j < d; j++) { var c = row[j] - mean[j]; sq[j] += c * c; }
        }
        var scale = sq.Select(s => Math.Sqrt(s / rows.Count)).Select(s => s > 1e-8 ? s : 1).ToArray();
        return new FeatureScaling(mean, scale);
    }

    /// <summary><paramref name="rows"/>' features, standardised, row-major.</summary>
    public float[] Apply(TrainingSet rows)
    {
        var d = rows.Dimension;
        var x = new float[rows.Count * d];
        for (var i = 0; i < x.Length; i++) x[i] = (float)((rows.Features[i] - _mean[i % d]) / _scale[i % d]);
        return x;
    }

    /// <summary>Raw-feature parameters (flat, in <paramref name="parameters"/> order) → standardised-feature ones.</summary>
    public double[] ToScaled(double[] raw, IReadOnlyList<HeadParameter> parameters)
    {
        var (w, b, outputs) = Layout(parameters);
        var x = (double[])raw.Clone();
        for (var o = 0; o < outputs; o++)
            for (var j = 0; j < _mean.Length; j++)
            {
                x[b + o] += _mean[j] * raw[w + j * outputs + o];
                x[w + j * outputs + o] = raw[w + j * outputs + o] * _scale[j];
            }
        return x;
    }

    /// <summary>Standardised-feature parameters → raw-feature ones, by name, as float32.</summary>
    public Dictionary<string, float[]> ToRaw(double[] scaled, IReadOnlyList<HeadParameter> parameters)
    {
        var (w, b, outputs) = Layout(parameters);
        var raw = (double[])scaled.Clone();
        for (var o = 0; o < outputs; o++)
            for (var j = 0; j < _mean.Length; j++)
            {
                var weight = scaled[w + j * outputs + o] / _scale[j];
                raw[w + j * outputs + o] = weight;
                raw[b + o] -= _mean[j] * weight;
            }
        var result = new Dictionary<string, float[]>(StringComparer.Ordinal);
        var offset = 0;
        foreach (var p in parameters)
        {
            result[p.Name] = raw.AsSpan(offset, p.Count).ToArray().Select(v => (float)v).ToArray();
            offset += p.Count;
        }
        return result;
    }

    /// <summary>Offsets of the weight [D, outputs] and bias [outputs] of a linear head's flat vector.</summary>
    private (int Weight, int Bias, int Outputs) Layout(IReadOnlyList<HeadParameter> parameters)
    {
        if (parameters.Count != 2 || parameters[0].Shape.Length != 2 || parameters[0].Shape[0] != _mean.Length || parameters[1].Shape.Length != 1)
            throw new InvalidOperationException("feature scaling maps the parameters of a linear head (weight, bias) only.");
        return (0, parameters[0].Count, parameters[1].Count);
    }
}
