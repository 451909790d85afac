using OnnxTransfer.Benchmarks;
using OnnxTransfer.Features;

namespace OnnxTransfer.Tests.Benchmarks;

public class BenchmarkDataTests
{
    private static FeatureTable Table(int rows, int dim, int seed, Func<int, string> label, Func<int, string> split)
    {
        var rng = new Random(seed);
        var features = new float[rows * dim];
        for (var i = 0; i < features.Length; i++)
            features[i] = i % 11 == 0 ? BitConverter.Int32BitsToSingle(rng.Next()) is var f && float.IsFinite(f) ? f : 1e-30f
                : (float)(rng.NextDouble() * 2e6 - 1e6) / (float)Math.Pow(10, rng.Next(0, 12));
        return new FeatureTable(Enumerable.Range(0, rows).Select(i => $"f{i:D4}.jpg").ToArray(),
            Enumerable.Range(0, rows).Select(label).ToArray(), Enumerable.Range(0, rows).Select(split).ToArray(), features, dim);
    }

    [Fact]
    public void Interchange_csv_round_trips_labels_and_every_float_bit_for_bit()
    {
        using var dir = new TempDir();
        var table = Table(37, 6, 3, i => i % 3 == 0 ? "ants" : "bees and wasps", _ => "train");
        var file = dir.File("t.csv");
        InterchangeCsv.Write(file, table);

        var lines = File.ReadAllText(file).Split('\n');
        Assert.Equal("label,f0,f1,f2,f3,f4,f5", lines[0]);
        Assert.Equal(37 + 2, lines.Length);  // header, rows, and the empty string after the last '\n'
        var (labels, features, dim) = InterchangeCsv.Read(file);
        Assert.Equal(6, dim);
        Assert.Equal(table.Labels, labels);
        Assert.Equal(table.Features.Select(BitConverter.SingleToInt32Bits), features.Select(BitConverter.SingleToInt32Bits));
    }

    [Fact]
    public void Interchange_csv_refuses_labels_it_cannot_hold()
    {
        using var dir = new TempDir();
        var table = Table(4, 2, 1, i => i == 2 ? "a,b" : "a", _ => "");
        var e = Assert.Throws<OnnxTransferException>(() => InterchangeCsv.Write(dir.File("t.csv"), table));
        Assert.Contains("'a,b'", e.Message);
        Assert.False(File.Exists(dir.File("t.csv")));
    }

    [Fact]
    public void Holdout_without_a_val_split_is_a_seeded_stratified_partition_of_the_train_rows()
    {
        // 300 rows: 60 of class A, 240 of class B, all in the train split.
        var table = Table(300, 3, 5, i => i % 5 == 0 ? "A" : "B", _ => "train");
        var (train, test, description) = TrainingBenchmark.Holdout(table, 0.2, 7);
        Assert.Contains("stratified 80/20", description);
        Assert.Equal(300, train.Count + test.Count);
        Assert.Empty(train.Paths.Intersect(test.Paths));
        Assert.Equal(12, test.Labels.Count(l => l == "A"));
        Assert.Equal(48, test.Labels.Count(l => l == "B"));
        // Rows keep their features.
        var index = table.Paths.Select((p, i) => (p, i)).ToDictionary(x => x.p, x => x.i);
        for (var k = 0; k < test.Count; k++) Assert.True(test.Row(k).SequenceEqual(table.Row(index[test.Paths[k]])));

        Assert.Equal(test.Paths, TrainingBenchmark.Holdout(table, 0.2, 7).Test.Paths);
        Assert.NotEqual(test.Paths, TrainingBenchmark.Holdout(table, 0.2, 8).Test.Paths);
    }

    [Fact]
    public void Holdout_uses_the_tables_val_split_when_it_has_one()
    {
        var table = Table(40, 2, 2, i => i % 2 == 0 ? "x" : "y", i => i < 30 ? "train" : "val");
        var (train, test, description) = TrainingBenchmark.Holdout(table, 0.2, 0);
        Assert.Equal(table.Paths[..30], train.Paths);
        Assert.Equal(table.Paths[30..], test.Paths);
        Assert.Contains("val split", description);
    }
}
