using Microsoft.ML.OnnxRuntime;
using DataType = OnnxTransfer.Onnx.Proto.TensorProto.Types.DataType;

using OnnxTransfer.Runtime;
using OnnxTransfer.Training.Engine;

namespace OnnxTransfer.Training.Heads;

/// <summary>
/// The loss of a linear head on a whole data set, run through the head's own training graph
/// (<see cref="HeadGraphBuilder.BuildTraining"/>, float32 like the mini-batch path: its matrix products are the
/// fast ones, and the solver only needs the optimum to float precision), plus <c>L2/2·‖weights‖²</c> added on the host (biases are not
/// decayed, as in the mini-batch optimizer). The rows stay resident as OrtValues; each evaluation copies in only
/// the parameters, which for a linear head are a few thousand numbers.
/// </summary>
internal sealed class HeadObjective : IDisposable
{
    private readonly InferenceSession _session;
    private readonly RunOptions _run = new();
    private readonly IReadOnlyList<HeadParameter> _parameters;
    private readonly OrtValue[] _data;
    private readonly string[] _inputNames;
    private readonly string[] _gradientOutputs;

    /// <summary>Builds the graph for <paramref name="rows"/> (features already transformed) with per-row <paramref name="weights"/>.</summary>
    public HeadObjective(HeadSpec spec, HeadTask task, TrainingSet rows, float[] features, float[] weights, double labelSmoothing,
        SessionFactory sessions)
    {
        var classes = rows.Classes.Length;
        _parameters = HeadGraphBuilder.Parameters(spec, task, rows.Dimension, classes);
        Decay = _parameters.Select(p => p.Decay).ToArray();
        var model = HeadGraphBuilder.BuildTraining(spec, task, rows.Dimension, classes, labelSmoothing, DataType.Float);
        _session = sessions.CreateSession(model.ToBytes());
        OrtValue labels = rows.Targets is { } t
            ? OrtValue.CreateTensorValueFromMemory(t, [rows.Count, classes])
            : OrtValue.CreateTensorValueFromMemory(rows.ClassIndex!.Select(c => (long)c).ToArray(), [rows.Count]);
        _data =
        [
            OrtValue.CreateTensorValueFromMemory(features, [rows.Count, rows.Dimension]),
            labels,
            OrtValue.CreateTensorValueFromMemory(weights, [rows.Count]),
        ];
        _inputNames = new[] { HeadGraphBuilder.Features, HeadGraphBuilder.Labels, HeadGraphBuilder.Weights }
            .Concat(_parameters.Select(p => p.Name)).ToArray();
        _gradientOutputs = new[] { HeadGraphBuilder.Loss }.Concat(_parameters.Select(p => HeadGraphBuilder.GradientName(p.Name))).ToArray();
        Rows = rows;
    }

    /// <summary>The rows this objective sums over.</summary>
    public TrainingSet Rows { get; }

    /// <summary>The parameters in the order of the flat vector.</summary>
    public IReadOnlyList<HeadParameter> Parameters => _parameters;

    /// <summary>Per parameter: whether L2 applies.</summary>
    public bool[] Decay { get; }

    /// <summary>Length of the flat parameter vector.</summary>
    public int Size => _parameters.Sum(p => p.Count);

    /// <summary>L2 strength on the weights (per the mean loss).</summary>
    public double L2 { get; set; }

    /// <summary>Graph runs so far.</summary>
    public int Evaluations { get; private set; }

    /// <summary>Regularised loss at <paramref name="x"/>; writes its gradient.</summary>
    public double Evaluate(ReadOnlySpan<double> x, Span<double> gradient)
    {
        using var result = Run(x, _gradientOutputs);
        var offset = 0;
        double loss = result[0].GetTensorDataAsSpan<float>()[0];
        for (var i = 0; i < _parameters.Count; i++)
        {
            var n = _parameters[i].Count;
            var g = result[1 + i].GetTensorDataAsSpan<float>();
            var slice = gradient.Slice(offset, n);
            for (var k = 0; k < n; k++) slice[k] = g[k];
            if (Decay[i] && L2 > 0)
            {
                var w = x.Slice(offset, n);
                double sq = 0;
                for (var k = 0; k < n; k++) { slice[k] += L2 * w[k]; sq += w[k] * w[k]; }
                loss += 0.5 * L2 * sq;
            }
            offset += n;
        }
        return loss;
    }

    /// <summary>The unregularised loss and the logits at <paramref name="x"/>.</summary>
    public (double Loss, double[] Logits) Score(ReadOnlySpan<double> x)
    {
        using var result = Run(x, [HeadGraphBuilder.Loss, HeadGraphBuilder.Logits]);
        var logits = result[1].GetTensorDataAsSpan<float>();
        var copy = new double[logits.Length];
        for (var i = 0; i < copy.Length; i++) copy[i] = logits[i];
        return (result[0].GetTensorDataAsSpan<float>()[0], copy);
    }

    private IDisposableReadOnlyCollection<OrtValue> Run(ReadOnlySpan<double> x, string[] outputs)
    {
        var inputs = new List<OrtValue>(_data);
        var offset = 0;
        var owned = new List<OrtValue>();
        try
        {
            foreach (var p in _parameters)
            {
                var values = new float[p.Count];
                for (var k = 0; k < values.Length; k++) values[k] = (float)x[offset + k];
                var v = OrtValue.CreateTensorValueFromMemory(values, p.Dims);
                owned.Add(v);
                offset += p.Count;
            }
            inputs.AddRange(owned);
            Evaluations++;
            return _session.Run(_run, _inputNames, inputs, outputs);
        }
        finally
        {
            foreach (var v in owned) v.Dispose();
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
        foreach (var v in _data) v.Dispose();
        _run.Dispose();
        _session.Dispose();
    }
}
