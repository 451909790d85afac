using OnnxTransfer.Benchmarks;

namespace OnnxTransfer.Tests.Benchmarks;

public class BenchmarkArithmeticTests
{
    [Fact]
    public void Machine_limit_is_cores_over_the_cpu_time_of_one_item()
    {
        // 400 items: 1.2 s decode CPU (3 ms each), 0.8 s inference CPU (2 ms each) → 5 ms per item; 2 cores → 400 items/s.
        var limit = MachineLimit.FromTotals(2, 1.2, 400, 0.8, 400);
        Assert.Equal(0.003, limit.DecodeCpuSecondsPerItem, 12);
        Assert.Equal(0.002, limit.InferenceCpuSecondsPerItem, 12);
        Assert.Equal(400, limit.ItemsPerSecond, 9);
        // Different item counts per measurement are normalised separately: 4 cores ÷ (1 ms + 3 ms) = 1000/s.
        Assert.Equal(1000, MachineLimit.FromTotals(4, 0.1, 100, 0.9, 300).ItemsPerSecond, 9);
        Assert.Throws<ArgumentOutOfRangeException>(() => MachineLimit.FromTotals(0, 1, 1, 1, 1));
    }

    [Fact]
    public void Samples_median_takes_the_middle_or_the_mean_of_the_middle_two()
    {
        Assert.Equal(3, new Samples([5, 1, 3]).Median);
        Assert.Equal(2.5, new Samples([4, 1, 3, 2]).Median);
        Assert.Equal(5, new Samples([5, 1, 3]).Max);
        Assert.Equal(1, new Samples([5, 1, 3]).Min);
        Assert.True(double.IsNaN(new Samples([]).Median));
    }

    [Fact]
    public void Peer_output_lines_that_are_not_json_objects_are_ignored()
    {
        var lines = PeerProgram.ParseLines("warning: something\n{\"a\":1}\n{broken\n\n{\"b\":2.5}\r\n");
        Assert.Equal(2, lines.Count);
        Assert.Equal(1, lines[0].GetProperty("a").GetInt32());
        Assert.Equal(2.5, lines[1].GetProperty("b").GetDouble());
    }

    [Fact]
    public void The_repository_bench_folder_with_both_peers_is_found_upwards()
    {
        var bench = PeerProgram.FindBenchFolder([AppContext.BaseDirectory]);
        Assert.Equal(Path.Combine(SharedAssets.RepoRoot, "bench"), bench);
        Assert.EndsWith("MlNetImagePeer.csproj", PeerProgram.In(bench!, "MlNetImagePeer").ProjectFile);
        Assert.EndsWith("MlNetTrainerPeer.csproj", PeerProgram.In(bench!, "MlNetTrainerPeer").ProjectFile);
        Assert.Throws<PeerException>(() => PeerProgram.In(bench!, "NoSuchPeer"));
    }
}
