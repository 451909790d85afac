using OnnxTransfer.Data;
using OnnxTransfer.Inference;

namespace OnnxTransfer.Evaluation;

/// <summary>The metrics of an exported model on a labelled dataset, and the files it could not read.</summary>
/// <param name="Metrics">Metrics over the files that were read.</param>
/// <param name="Errors">Files that failed (path, reason); they are not counted in the metrics.</param>
public sealed record ModelEvaluationResult(ClassificationMetrics Metrics, IReadOnlyList<(string Path, string Reason)> Errors)
{
    /// <summary>One row per file that was read, in the input order.</summary>
    public IReadOnlyList<PredictionRow> Predictions { get; init; } = [];
}

/// <summary>Scores an exported model (<see cref="TransferModel"/>) on a labelled image dataset.</summary>
public static class ModelEvaluation
{
    /// <summary>
    /// Predicts every item and compares with its label. Dataset labels must name the model's labels
    /// (case-insensitive); an unknown one is an error listing the model's labels.
    /// </summary>
    public static ModelEvaluationResult Evaluate(TransferModel model, IReadOnlyList<DatasetItem> items, int batchSize = 32,
        IProgress<ProgressUpdate>? progress = null, CancellationToken ct = default)
    {
        var classIndex = new Dictionary<string, int>(StringComparer.OrdinalIgnoreCase);
        for (var k = 0; k < model.Labels.Count; k++) classIndex.TryAdd(model.Labels[k], k);
        var unknown = items.Select(i => i.Label).Where(l => !classIndex.ContainsKey(l)).Distinct().ToArray();
        if (unknown.Length > 0)
            throw new OnnxTransferException($"dataset label(s) {string.Join(", ", unknown.Select(u => $"'{u}'"))} are not labels of {model.Name}; its labels are: {string.Join(", ", model.Labels)}.");

        var truth = new List<int>();
        var scored = new List<DatasetItem>();
        var probabilities = new List<float>();
        var errors = new List<(string, string)>();
        var done = 0;
        foreach (var (item, result) in items.Zip(model.PredictFiles(items.Select(i => i.Path), batchSize, ct)))
        {
            if (result.Prediction is { } p)
            {
                truth.Add(classIndex[item.Label]);
                probabilities.AddRange(p.Values);
                scored.Add(item);
            }
            else errors.Add((item.Path, result.Error ?? "unreadable"));
            progress?.Report(new ProgressUpdate("evaluate", ++done, items.Count));
        }
        if (truth.Count == 0)
            throw new OnnxTransferException($"none of the {items.Count} files could be read; the first error: {errors.FirstOrDefault().Item2}");
        var all = probabilities.ToArray();
        // Labels as the model names them (the dataset may differ in case), so rows and metrics agree.
        var labels = truth.Select(t => model.Labels[t]).ToArray();
        return new ModelEvaluationResult(ClassificationMetrics.Compute(truth, all, model.Labels), errors)
        {
            Predictions = PredictionRow.From(scored.Select(i => i.Path).ToArray(), labels, scored.Select(i => i.Split).ToArray(), all, model.Labels),
        };
    }
}
