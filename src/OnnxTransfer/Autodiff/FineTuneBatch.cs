using Microsoft.ML.OnnxRuntime;
using OnnxTransfer.Training;
using OnnxTransfer.Training.Gradients;

namespace OnnxTransfer.Autodiff;

/// <summary>One mini-batch of fine-tuning on ONNX Runtime: forward + backward through the training graph, an optimizer update, counting hits.</summary>
internal static class FineTuneBatch
{
    public static (float Loss, float[] Logits, Dictionary<string, float[]>? Gradients) Run(InferenceSession session, FineTuneGraph graph, long[] shape,
        IActivationSource source, int epoch, long[] labels, int[] rows, Dictionary<string, float[]> values, bool withGradients, float[]? classWeights = null)
    {
        var size = checked((int)shape.Aggregate(1L, (a, d) => a * d));
        var x = new float[rows.Length * size];
        source.Fill(epoch, rows, x);
        var names = new List<string> { graph.Boundary, HeadGraphBuilder.Labels, HeadGraphBuilder.Weights };
        var inputs = new List<OrtValue>
        {
            OrtValue.CreateTensorValueFromMemory(x, [rows.Length, .. shape]),
            OrtValue.CreateTensorValueFromMemory(rows.Select(r => labels[r]).ToArray(), [rows.Length]),
            OrtValue.CreateTensorValueFromMemory(rows.Select(r => classWeights?[labels[r]] ?? 1f).ToArray(), [rows.Length]),
        };
        foreach (var p in graph.Parameters)
        {
            names.Add(p.Name);
            inputs.Add(OrtValue.CreateTensorValueFromMemory(values[p.Name], p.Dims));
        }
        var outputs = new List<string> { HeadGraphBuilder.Loss, HeadGraphBuilder.Logits };
        if (withGradients) outputs.AddRange(graph.Parameters.Select(p => GradientGraph.GradientName(p.Name)));
        try
        {
            using var runOptions = new RunOptions();
            using var results = session.Run(runOptions, names, inputs, outputs);
            var gradients = withGradients
                ? graph.Parameters.Select((p, i) => (p.Name, Values: results[2 + i].GetTensorDataAsSpan<float>().ToArray())).ToDictionary(t => t.Name, t => t.Values, StringComparer.Ordinal)
                : null;
            return (results[0].GetTensorDataAsSpan<float>()[0], results[1].GetTensorDataAsSpan<float>().ToArray(), gradients);
        }
        finally
        {
            foreach (var v in inputs) v.Dispose();
        }
    }

    public static void Update(InferenceSession optimizer, IReadOnlyList<HeadParameter> parameters, OptimizerSettings settings, double lr, long step,
        Dictionary<string, float[]> values, Dictionary<string, float[]> gradients, Dictionary<string, float[]> state)
    {
        if (parameters.Count == 0) return;
        var names = new List<string> { OptimizerGraph.LearningRate, OptimizerGraph.Step };
        var inputs = new List<OrtValue> { OrtValue.CreateTensorValueFromMemory(new[] { (float)lr }, []), OrtValue.CreateTensorValueFromMemory(new[] { (float)step }, []) };
        var outputs = new List<string>();
        void Add(string name, float[] data, long[] dims) { names.Add(name); inputs.Add(OrtValue.CreateTensorValueFromMemory(data, dims)); }
        foreach (var p in parameters) { Add(p.Name, values[p.Name], p.Dims); outputs.Add(OptimizerGraph.UpdatedName(p.Name)); }
        foreach (var p in parameters) Add(HeadGraphBuilder.GradientName(p.Name), gradients[p.Name], p.Dims);
        foreach (var p in parameters)
            foreach (var s in OptimizerGraph.StateNames(settings, p.Name)) { Add(s, state[s], p.Dims); outputs.Add(OptimizerGraph.UpdatedName(s)); }
        try
        {
            using var runOptions = new RunOptions();
            using var results = optimizer.Run(runOptions, names, inputs, outputs);
            var i = 0;
            foreach (var p in parameters) values[p.Name] = results[i++].GetTensorDataAsSpan<float>().ToArray();
            foreach (var p in parameters)
                foreach (var s in OptimizerGraph.StateNames(settings, p.Name)) state[s] = results[i++].GetTensorDataAsSpan<float>().ToArray();
        }
        finally
        {
            foreach (var v in inputs) v.Dispose();
        }
    }

    public static int Correct(HeadTask task, float[] logits, long[] labels, int[] rows, int classes)
    {
        var correct = 0;
        var width = task == HeadTask.Binary ? 1 : classes;
        for (var k = 0; k < rows.Length; k++)
        {
            var row = logits.AsSpan(k * width, width);
            var predicted = task == HeadTask.Binary ? (row[0] > 0 ? 1 : 0) : System.Numerics.Tensors.TensorPrimitives.IndexOfMax(row);
            if (predicted == labels[rows[k]]) correct++;
        }
        return correct;
    }
}
