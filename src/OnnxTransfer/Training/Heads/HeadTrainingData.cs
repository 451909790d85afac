using OnnxTransfer.Training.Engine;

namespace OnnxTransfer.Training.Heads;

/// <summary>
/// Feature rows as the head training graph's inputs: features, labels (class indices, or multi-label targets), sample
/// weights and one dropout mask per dropout layer (drawn from the loop's generator).
/// </summary>
internal sealed class HeadTrainingData(TrainingSet set, HeadTask task, float[] classWeights, int[] dropoutWidths, double dropout) : ITrainingData
{
    private readonly int _outputs = HeadGraphBuilder.OutputCount(task, set.Classes.Length);

    public int Count => set.Count;

    public GraphInputs Batch(int[] rows, int epoch, SeededRandom random)
    {
        var b = rows.Length;
        var dim = set.Dimension;
        var classes = set.Classes.Length;
        var x = new float[b * dim];
        for (var k = 0; k < b; k++) set.Features.AsSpan(rows[k] * dim, dim).CopyTo(x.AsSpan(k * dim));
        var inputs = new GraphInputs().Add(HeadGraphBuilder.Features, x, [b, dim]);
        if (set.Targets is { } targets)
        {
            var y = new float[b * classes];
            for (var k = 0; k < b; k++) targets.AsSpan(rows[k] * classes, classes).CopyTo(y.AsSpan(k * classes));
            inputs.Add(HeadGraphBuilder.Labels, y, [b, classes]);
        }
        else
            inputs.Add(HeadGraphBuilder.Labels, rows.Select(r => (long)set.ClassIndex![r]).ToArray(), [b]);
        inputs.Add(HeadGraphBuilder.Weights, Weights(rows), [b]);
        for (var i = 0; i < dropoutWidths.Length; i++)
            inputs.Add(HeadGraphBuilder.DropoutMaskName(i), DropoutMask(random, b * dropoutWidths[i], dropout), [b, dropoutWidths[i]]);
        return inputs;
    }

    public double Weight(int[] rows) => Weights(rows).Sum(w => (double)w);

    public (double Correct, double Decisions) Score(float[] logits, int[] rows) => CountCorrect(task, logits, _outputs, set, rows);

    private float[] Weights(int[] rows) =>
        set.ClassIndex is { } labels ? rows.Select(r => classWeights[labels[r]]).ToArray() : Enumerable.Repeat(1f, rows.Length).ToArray();

    private static float[] DropoutMask(SeededRandom rng, int count, double p)
    {
        var keep = (float)(1 / (1 - p));
        var mask = new float[count];
        for (var i = 0; i < count; i++) mask[i] = rng.NextDouble() < p ? 0f : keep;
        return mask;
    }

    /// <summary>Correct decisions among <paramref name="rows"/>: one per row, or one per label for multi-label heads.</summary>
    public static (double Correct, double Decisions) CountCorrect(HeadTask task, ReadOnlySpan<float> logits, int outputs, TrainingSet data, ReadOnlySpan<int> rows)
    {
        double correct = 0;
        for (var k = 0; k < rows.Length; k++)
        {
            var z = logits.Slice(k * outputs, outputs);
            switch (task)
            {
                case HeadTask.Binary:
                    if ((z[0] > 0 ? 1 : 0) == data.ClassIndex![rows[k]]) correct++;
                    break;
                case HeadTask.MultiClass:
                    var best = 0;
                    for (var c = 1; c < outputs; c++) if (z[c] > z[best]) best = c;
                    if (best == data.ClassIndex![rows[k]]) correct++;
                    break;
                default:
                    for (var c = 0; c < outputs; c++)
                        if ((z[c] > 0) == (data.Targets![rows[k] * outputs + c] > 0.5f)) correct++;
                    break;
            }
        }
        return (correct, task == HeadTask.MultiLabel ? rows.Length * outputs : rows.Length);
    }
}
