using Microsoft.ML.OnnxRuntime;
using OnnxTransfer.Onnx;

namespace OnnxTransfer.Tests.Training;

/// <summary>Runs a small graph with named float64 / int64 inputs and returns every output as doubles.</summary>
internal sealed class GraphRunner : IDisposable
{
    private readonly InferenceSession _session;

    public GraphRunner(OnnxModel model)
    {
        using var options = new SessionOptions { IntraOpNumThreads = 1, GraphOptimizationLevel = GraphOptimizationLevel.ORT_DISABLE_ALL };
        _session = new InferenceSession(model.ToBytes(), options);
    }

    public Dictionary<string, double[]> Run(IReadOnlyDictionary<string, (double[] Values, long[] Shape)> inputs,
        IReadOnlyDictionary<string, (long[] Values, long[] Shape)>? ints = null, bool asFloat = false)
    {
        var names = new List<string>();
        var values = new List<OrtValue>();
        try
        {
            foreach (var (name, (v, shape)) in inputs)
            {
                names.Add(name);
                values.Add(asFloat
                    ? OrtValue.CreateTensorValueFromMemory(v.Select(d => (float)d).ToArray(), shape)
                    : OrtValue.CreateTensorValueFromMemory((double[])v.Clone(), shape));
            }
            foreach (var (name, (v, shape)) in ints ?? new Dictionary<string, (long[], long[])>())
            {
                names.Add(name);
                values.Add(OrtValue.CreateTensorValueFromMemory((long[])v.Clone(), shape));
            }
            var outputNames = _session.OutputNames;
            using var runOptions = new RunOptions(); // kept alive across Run: a collected RunOptions frees native memory mid-run
            using var outputs = _session.Run(runOptions, names, values, outputNames);
            var result = new Dictionary<string, double[]>();
            for (var i = 0; i < outputNames.Count; i++)
                result[outputNames[i]] = asFloat
                    ? outputs[i].GetTensorDataAsSpan<float>().ToArray().Select(f => (double)f).ToArray()
                    : outputs[i].GetTensorDataAsSpan<double>().ToArray();
            return result;
        }
        finally
        {
            foreach (var v in values) v.Dispose();
        }
    }

    public void Dispose() => _session.Dispose();
}
