using OnnxTransfer.Training.Engine;
using OnnxTransfer.Training.Heads;

namespace OnnxTransfer.Training.FineTuning;

/// <summary>
/// Boundary activations as the fine-tuning graph's inputs: the activations of the batch's items (cached or computed per
/// batch by the source), their class indices and sample weights.
/// </summary>
internal sealed class ActivationTrainingData(IActivationSource source, string boundary, long[] labels, float[]? classWeights, HeadTask task, int classes)
    : ITrainingData
{
    private readonly long[] _shape = source.SampleShape.ToArray();
    private readonly int _size = checked((int)source.SampleShape.Aggregate(1L, (a, d) => a * d));

    public int Count => source.Items.Count;

    public GraphInputs Batch(int[] rows, int epoch, SeededRandom random)
    {
        var x = new float[rows.Length * _size];
        source.Fill(epoch, rows, x);
        return new GraphInputs()
            .Add(boundary, x, [rows.Length, .. _shape])
            .Add(HeadGraphBuilder.Labels, rows.Select(r => labels[r]).ToArray(), [rows.Length])
            .Add(HeadGraphBuilder.Weights, Weights(rows), [rows.Length]);
    }

    public double Weight(int[] rows) => Weights(rows).Sum(w => (double)w);

    public (double Correct, double Decisions) Score(float[] logits, int[] rows)
    {
        var correct = 0;
        var width = task == HeadTask.Binary ? 1 : classes;
        for (var k = 0; k < rows.Length; k++)
        {
            var row = logits.AsSpan(k * width, width);
            var predicted = task == HeadTask.Binary ? (row[0] > 0 ? 1 : 0) : System.Numerics.Tensors.TensorPrimitives.IndexOfMax(row);
            if (predicted == labels[rows[k]]) correct++;
        }
        return (correct, rows.Length);
    }

    private float[] Weights(int[] rows) => rows.Select(r => classWeights?[labels[r]] ?? 1f).ToArray();
}
