using Microsoft.ML.OnnxRuntime;

namespace OnnxTransfer.Training.Engine;

/// <summary>
/// What <see cref="TrainingLoop"/> trains on: turns rows into the training graph's data inputs and scores the logits.
/// Head training feeds feature rows (plus dropout masks), fine-tuning feeds boundary activations.
/// </summary>
internal interface ITrainingData
{
    /// <summary>Training rows.</summary>
    int Count { get; }

    /// <summary>
    /// The training graph's data inputs for <paramref name="rows"/> in <paramref name="epoch"/> (1-based). Random draws
    /// (dropout masks) come from <paramref name="random"/>, so a resumed run draws what an uninterrupted one would.
    /// </summary>
    GraphInputs Batch(int[] rows, int epoch, SeededRandom random);

    /// <summary>Total sample weight of <paramref name="rows"/> (the training loss is a weighted mean over the epoch).</summary>
    double Weight(int[] rows);

    /// <summary>Correct decisions and decisions made for <paramref name="rows"/> given their logits.</summary>
    (double Correct, double Decisions) Score(float[] logits, int[] rows);
}

/// <summary>Named tensors bound as graph inputs for one run; disposes them.</summary>
internal sealed class GraphInputs : IDisposable
{
    private readonly List<(string Name, OrtValue Value)> _inputs = [];

    /// <summary>The inputs in order.</summary>
    public IReadOnlyList<(string Name, OrtValue Value)> Values => _inputs;

    /// <summary>Adds a tensor over <paramref name="data"/> (pinned, not copied).</summary>
    public GraphInputs Add<T>(string name, T[] data, long[] shape) where T : unmanaged
    {
        _inputs.Add((name, OrtValue.CreateTensorValueFromMemory(data, shape)));
        return this;
    }

    /// <inheritdoc />
    public void Dispose()
    {
        foreach (var (_, value) in _inputs) value.Dispose();
        _inputs.Clear();
    }
}
