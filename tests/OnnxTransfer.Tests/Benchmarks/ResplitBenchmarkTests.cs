using System.Text.Json;
using OnnxTransfer.Benchmarks;
using OnnxTransfer.Features;
using OnnxTransfer.Tests.Hardening;
using OnnxTransfer.Training.Heads;

namespace OnnxTransfer.Tests.Benchmarks;

public class ResplitBenchmarkTests
{
    // 150 labelled rows in three splits (30 of class A, 120 of B; a row's class and split vary independently) and
    // 3 unlabelled rows; class A sits at +2 on the first feature, B at −2, so a linear head separates them.
    private static FeatureTable Table()
    {
        const int dim = 4;
        var rng = new Random(11);
        var rows = 153;
        var labels = Enumerable.Range(0, rows).Select(i => i >= 150 ? "" : i % 5 == 0 ? "A" : "B").ToArray();
        var splits = Enumerable.Range(0, rows).Select(i => (i % 7) switch { < 4 => "train", < 6 => "val", _ => "test" }).ToArray();
        var features = new float[rows * dim];
        for (var i = 0; i < rows; i++)
            for (var d = 0; d < dim; d++)
                features[i * dim + d] = (float)(rng.NextDouble() - 0.5) + (d == 0 ? labels[i] == "A" ? 2 : -2 : 0);
        return new FeatureTable(Enumerable.Range(0, rows).Select(i => $"{splits[i]}/{labels[i]}/{i:D3}.jpg").ToArray(), labels, splits, features, dim);
    }

    [Fact]
    public void Resplits_pool_every_labelled_row_and_are_disjoint_stratified_and_seeded()
    {
        var table = Table();
        var pool = ResplitBenchmark.Pool(table);
        Assert.Equal(150, pool.Count);
        Assert.All(pool.Splits, s => Assert.Equal("", s));
        Assert.Equal(table.Paths[..150], pool.Paths);
        Assert.True(pool.Row(17).SequenceEqual(table.Row(17)));

        var splits = ResplitBenchmark.Splits(pool, 0.2, 5, 4);
        Assert.Equal([5UL, 6, 7, 8], splits.Select(s => s.Seed));
        foreach (var s in splits)
        {
            Assert.Empty(s.Train.Intersect(s.Test));
            Assert.Equal(Enumerable.Range(0, 150), s.Train.Concat(s.Test).Order());
            Assert.Equal(6, s.Test.Count(i => pool.Labels[i] == "A"));   // 20 % of 30
            Assert.Equal(24, s.Test.Count(i => pool.Labels[i] == "B"));  // 20 % of 120
            // Held-out rows come from every original split, not only the table's own val split.
            Assert.Equal(3, s.Test.Select(i => table.Splits[i]).Distinct().Count());
        }
        for (var a = 0; a < splits.Count; a++)
            for (var b = a + 1; b < splits.Count; b++)
                Assert.NotEqual(splits[a].Test, splits[b].Test);
        Assert.Equal(splits[1].Test, ResplitBenchmark.Splits(pool, 0.2, 6, 1)[0].Test);

        Assert.Throws<OnnxTransferException>(() => ResplitBenchmark.Splits(pool, 0.2, 0, 0));
        Assert.Throws<OnnxTransferException>(() => ResplitBenchmark.Splits(pool, 1, 0, 2));
    }

    private static TrainerResult Trainer(string name, double accuracy, double balanced, params double[] seconds) =>
        new(name, new Samples(seconds), accuracy, [accuracy], "", balanced);

    private static TrainingBenchmarkResult Split(TrainerResult ours, params TrainerResult[] peers) =>
        new("s", 80, 20, 4, ["A", "B"], ours, peers, null);

    [Fact]
    public void Summary_gives_mean_sd_paired_difference_and_wins_ties_losses()
    {
        // Ours vs peer "lbfgs" over four splits: differences +2, 0, −5, +5 points; peer "sdca" runs on three splits only.
        // The second split's tie is inexact in floating point (0.1 + 0.2 ≠ 0.3) and must still count as a tie.
        var splits = new[]
        {
            Split(Trainer("ours", 0.90, 0.80, 1, 2, 9), Trainer("lbfgs", 0.88, 0.70, 10), Trainer("sdca", 0.50, 0.5, 4)),
            Split(Trainer("ours", 0.1 + 0.2, 0.30, 3), Trainer("lbfgs", 0.3, 0.30, 30), Trainer("sdca", 0.50, 0.5, 4)),
            Split(Trainer("ours", 0.80, 0.60, 5, 4), Trainer("lbfgs", 0.85, 0.80, 20)),
            Split(Trainer("ours", 0.85, 0.70, 1), Trainer("lbfgs", 0.80, 0.60, 40), Trainer("sdca", 0.50, 0.5, 4)),
        };
        var s = ResplitSummary.From(splits);

        var accuracies = new[] { 0.90, 0.30, 0.80, 0.85 };
        Assert.Equal(4, s.Ours.Splits);
        Assert.Equal(accuracies.Average(), s.Ours.MeanAccuracy, 12);
        Assert.Equal(SampleSd(accuracies), s.Ours.AccuracySd, 12);
        Assert.Equal(0.60, s.Ours.MeanBalancedAccuracy, 12);
        Assert.Equal(2.5, s.Ours.MedianSeconds, 12);   // median of the split medians 2, 3, 4.5, 1
        Assert.Equal(["lbfgs", "sdca"], s.Peers.Select(p => p.Name));
        Assert.Equal(3, s.Peers[1].Splits);
        Assert.True(double.IsFinite(s.Peers[1].AccuracySd) && s.Peers[1].AccuracySd == 0);
        Assert.Equal("lbfgs", s.BestPeer);

        var d = s.VersusBestPeer!;
        Assert.Equal("lbfgs", d.Peer);
        Assert.Equal(4, d.Splits);
        Assert.Equal(0.5, d.MeanPoints, 9);                       // (2 + 0 − 5 + 5) / 4
        Assert.Equal(SampleSd([2, 0, -5, 5]), d.SdPoints, 9);    // √(53 / 3)
        Assert.Equal((2, 1, 1), (d.Wins, d.Ties, d.Losses));
        Assert.Equal(25 / 2.5, d.Speedup, 12);                    // peer: median of 10, 30, 20, 40

        var sdca = s.Differences.Single(x => x.Peer == "sdca");
        Assert.Equal(3, sdca.Splits);
        Assert.Equal((2, 0, 1), (sdca.Wins, sdca.Ties, sdca.Losses));  // 0.90 and 0.85 beat 0.50, 0.30 does not
        Assert.Equal(4 / 2.0, sdca.Speedup, 12);                  // ours on those splits: 2, 3, 1
        Assert.Equal(100 * (new[] { 0.90, 0.30, 0.85 }.Average() - 0.5), sdca.MeanPoints, 9);

        var one = ResplitSummary.From([splits[0]]);
        Assert.True(double.IsNaN(one.Ours.AccuracySd));
        Assert.True(double.IsNaN(one.VersusBestPeer!.SdPoints));
        Assert.Empty(ResplitSummary.From([Split(Trainer("ours", 1, 1, 1))]).Differences);
        Assert.Null(ResplitSummary.From([Split(Trainer("ours", 1, 1, 1))]).BestPeer);
    }

    private static double SampleSd(double[] v) => Math.Sqrt(v.Sum(x => (x - v.Average()) * (x - v.Average())) / (v.Length - 1));

    [Fact]
    public async Task Every_split_trains_ours_on_its_own_rows_and_the_summary_matches_the_splits()
    {
        var options = new TrainingBenchmarkOptions { Repeat = 1, SplitSeed = 3, HoldoutFraction = 0.2 };
        var result = await ResplitBenchmark.RunAsync(Table(), 3, options);

        Assert.Equal(150, result.Rows);
        Assert.Equal(["A", "B"], result.Classes);
        Assert.Contains("train 87, val 42, test 21", result.Pool);
        Assert.Equal([3UL, 4, 5], result.Splits.Select(s => s.Seed));
        Assert.All(result.Splits, s =>
        {
            Assert.Equal((120, 30), (s.Result.TrainRows, s.Result.TestRows));
            Assert.Equal(1.0, s.Result.Ours.Accuracy);  // the classes are 4 apart on one feature, ±0.5 noise
            Assert.Empty(s.Result.Peers);
            Assert.Contains("not run", s.Result.PeerError);
            Assert.Contains($"(seed {s.Seed})", s.Result.Split);
        });
        Assert.Equal(3, result.Summary.Ours.Splits);
        Assert.Equal(result.Splits.Average(s => s.Result.Ours.Accuracy), result.Summary.Ours.MeanAccuracy, 12);
        Assert.Empty(result.Summary.Peers);
        Assert.Null(result.Summary.VersusBestPeer);
    }

    [Fact]
    public async Task The_cli_prints_the_resplit_figures_as_json_and_keeps_the_tables_split_without_resplits()
    {
        using var dir = new TempDir();
        var store = dir.File("features.parquet");
        await FeatureStore.WriteAsync(store, Table().Where(i => i < 150), new FeatureStoreMetadata("synthetic", new string('a', 64), "out", "none", 4));

        var (code, output, error) = await ChildProcess.CliAsync(120, "bench", "train", "-f", store, "--resplits", "2", "--split-seed", "7",
            "--repeat", "1", "--no-peer", "--json");
        Assert.True(code == 0, error);
        using var json = JsonDocument.Parse(output);
        var splits = json.RootElement.GetProperty("splits");
        Assert.Equal([7UL, 8], splits.EnumerateArray().Select(s => s.GetProperty("seed").GetUInt64()));
        Assert.Equal(30, splits[0].GetProperty("result").GetProperty("test_rows").GetInt32());
        var ours = json.RootElement.GetProperty("summary").GetProperty("ours");
        Assert.Equal(2, ours.GetProperty("splits").GetInt32());
        Assert.Equal(1.0, ours.GetProperty("mean_accuracy").GetDouble());

        (code, output, error) = await ChildProcess.CliAsync(120, "bench", "train", "-f", store, "--repeat", "1", "--no-peer", "--json");
        Assert.True(code == 0, error);
        using var single = JsonDocument.Parse(output);
        Assert.Equal(21, single.RootElement.GetProperty("test_rows").GetInt32());  // the table's test split: rows 6, 13, …, 146
        Assert.Contains("test split", single.RootElement.GetProperty("split").GetString());

        (code, _, error) = await ChildProcess.CliAsync(60, "bench", "train", "-f", store, "--resplits", "-1", "--no-peer");
        Assert.NotEqual(0, code);
        Assert.Contains("--resplits -1", error);
    }
}
