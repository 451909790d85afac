using OnnxTransfer.Data;
using OnnxTransfer.Training.Heads;
using OnnxTransfer.Training.FineTuning;

namespace OnnxTransfer.Tests.Training;

/// <summary>Head-only fit and fine-tuning on one class-folder dataset (no split folders) with one seed.</summary>
public class LearnerSplitTests
{
    // Class folders without split folders: 12 ants and 12 bees from hymenoptera, renamed person{k}_… so they can be grouped.
    private static string ClassFolders(TempDir dir)
    {
        var source = SharedAssets.Dataset("hymenoptera");
        foreach (var label in new[] { "ants", "bees" })
        {
            var target = Path.Combine(dir.Path, "data", label);
            Directory.CreateDirectory(target);
            var files = Directory.GetFiles(Path.Combine(source, "train", label), "*.jpg").Order(StringComparer.Ordinal).Take(12).ToArray();
            for (var k = 0; k < files.Length; k++) File.Copy(files[k], Path.Combine(target, $"person{k / 2}_{label}_{k}.jpg"));
        }
        return Path.Combine(dir.Path, "data");
    }

    private static string[] Ids(IEnumerable<DatasetItem> items) => items.Select(i => i.Id).Order(StringComparer.Ordinal).ToArray();

    [Fact]
    public async Task Fit_and_fine_tuning_with_one_seed_report_on_the_same_items_and_the_linear_head_trains_on_every_other()
    {
        using var dir = new TempDir();
        var data = ClassFolders(dir);
        var options = new LearnerOptions
        {
            PerClass = 6,
            Training = new TrainingOptions { Epochs = 3, Seed = 7, ValidationFraction = 0.2, Patience = 0 },
            FineTune = new FineTuneOptions { Training = new TrainingOptions { Epochs = 1, BatchSize = 8, LearningRate = 1e-3, Seed = 7, ValidationFraction = 0.2 } },
        };
        using var learner = await Learner.CreateAsync(SharedAssets.MobileNetV2Int8, options);
        var fit = await learner.FitAsync(data, dir.File("head.onnx"));
        var tuned = await learner.FineTuneAsync(data, dir.File("tuned.onnx"), layers: 2);

        // Per class: 20 % of 12 held out (2) and 6 of the other 10 kept. Fine-tuning watches 20 % of those (1) for early
        // stopping; the L-BFGS head trains on all 6 and cross-validates its L2 strength on them.
        Assert.Equal(4, fit.Split.Evaluation.Count);
        Assert.Equal(4, tuned.Split.Evaluation.Count);
        Assert.Equal(Ids(fit.Split.Evaluation), Ids(tuned.Split.Evaluation));
        Assert.Equal((10, 2), (tuned.Split.Train.Count, tuned.Split.Validation.Count));
        Assert.Empty(fit.Split.Validation);
        Assert.Equal(Ids(tuned.Split.Train.Concat(tuned.Split.Validation)), Ids(fit.Split.Train));

        // Each run trained on its training items and reported on the rest.
        Assert.Equal(12, fit.Training.Info.Metrics.TrainRows);
        Assert.Equal(0, fit.Training.Info.Metrics.ValRows);
        Assert.NotNull(fit.Training.Info.Metrics.ValAccuracy); // the folds' mean: the L2 strength was cross-validated, not fixed
        Assert.Equal(10, tuned.TrainItems);
        Assert.Equal(4, fit.Report!.N);
        Assert.Equal(4, tuned.Report!.N);
        Assert.Empty(Ids(fit.Split.Train).Intersect(Ids(fit.Split.Evaluation)));
        Assert.Empty(Ids(tuned.Split.Validation).Intersect(Ids(tuned.Split.Evaluation)));
        foreach (var report in new[] { fit.Report, tuned.Report }) Assert.StartsWith("stratified 20", report.Context["split"]);
        Assert.Contains("L2 strength on the training items", fit.Report.Context["early_stopping"]);
        Assert.Equal("0", fit.Report.Context["early_stopping_rows"]);
        Assert.Contains("20 % of the training items", tuned.Report.Context["early_stopping"]);
        Assert.Equal("2", tuned.Report.Context["early_stopping_rows"]);
        Assert.Equal(fit.Report.Context["early_stopping"], EvaluationReportOnDisk(fit.ReportPath!).Context["early_stopping"]);
        // Both runs list their scored items beside report.json, and write the page.
        foreach (var (report, path) in new[] { (fit.Report, fit.ReportPath!), (tuned.Report, tuned.ReportPath!) })
        {
            var folder = Path.GetDirectoryName(path)!;
            var rows = OnnxTransfer.Evaluation.PredictionsCsv.Read(Path.Combine(folder, "predictions.csv")).Rows;
            Assert.Equal(Ids(fit.Split.Evaluation).Select(Path.GetFileName).Order(StringComparer.Ordinal), rows.Select(r => Path.GetFileName(r.Path)).Order(StringComparer.Ordinal));
            Assert.Equal(report.N - report.ConfusionMatrix.Select((r, k) => r[k]).Sum(), rows.Count(r => r.IsMisclassified));
            Assert.True(File.Exists(Path.Combine(folder, "report.html")));
        }
    }

    [Fact]
    public async Task Grouping_keeps_each_person_on_one_side_in_fit()
    {
        using var dir = new TempDir();
        var data = ClassFolders(dir);
        var options = new LearnerOptions
        {
            Grouping = ItemGrouping.FileNamePattern(@"person(\d+)_"),
            Training = new TrainingOptions { Epochs = 2, Seed = 3, ValidationFraction = 0.25, Patience = 0 },
        };
        using var learner = await Learner.CreateAsync(SharedAssets.MobileNetV2Int8, options);
        var fit = await learner.FitAsync(data, dir.File("m.onnx"));
        string Person(DatasetItem i) => options.Grouping.GroupOf(i);
        var sides = new[] { fit.Split.Train, fit.Split.Evaluation }.Select(s => s.Select(Person).ToHashSet()).ToArray();
        Assert.All(sides, s => Assert.NotEmpty(s));
        Assert.Empty(sides[0].Intersect(sides[1]));
        // The L-BFGS head chose its L2 strength on the training items, keeping each person in one fold (LinearHeadSolverTests),
        // and trained on all of them.
        Assert.Empty(fit.Split.Validation);
        Assert.Equal(fit.Split.Train.Count, fit.Training.Info.Metrics.RefitRows);
        Assert.Equal("file name pattern person(\\d+)_", fit.Report!.Context["grouping"]);
    }

    private static OnnxTransfer.Evaluation.EvaluationReport EvaluationReportOnDisk(string path) => OnnxTransfer.Evaluation.EvaluationReport.Read(path);
}
