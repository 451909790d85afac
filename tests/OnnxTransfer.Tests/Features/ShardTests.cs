using System.Text;
using OnnxTransfer.Data;

namespace OnnxTransfer.Tests.Features;

public class ShardTests
{
    private static readonly string[] Ids = Enumerable.Range(0, 2000).Select(i => $"class{i % 10}/img_{i}.jpg").ToArray();

    private static DatasetItem Item(string id) => new("/data/" + id, id, "", "");

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    [InlineData(8)]
    public void Shards_are_disjoint_complete_balanced_and_independent_of_listing_order(int n)
    {
        var items = Ids.Select(Item).ToArray();
        var shuffled = items.OrderBy(_ => Random.Shared.Next()).ToArray();
        var slices = Enumerable.Range(0, n).Select(i => new Shard(i, n).Select(items).Select(x => x.Id).ToHashSet()).ToArray();
        Assert.Equal(Ids.Length, slices.Sum(s => s.Count));
        Assert.Equal(Ids.ToHashSet(), slices.SelectMany(s => s).ToHashSet());
        for (var i = 0; i < n; i++)
        {
            Assert.Equal(slices[i], new Shard(i, n).Select(shuffled).Select(x => x.Id).ToHashSet());
            // 2000/n items per shard; a fair hash stays well within ±25 %.
            Assert.InRange(slices[i].Count, 0.75 * Ids.Length / n, 1.25 * Ids.Length / n);
        }
    }

    [Fact]
    public void Hash_is_fnv1a64_then_splitmix64_finalizer()
    {
        // Standard FNV-1a 64 test vector: "a" -> 0xaf63dc4c8601ec8c.
        Assert.Equal(0xaf63dc4c8601ec8cUL, Fnv1a("a"));
        foreach (var id in new[] { "a", "dogs/ñandú 1.jpg", "" , new string('x', 1000) })
            Assert.Equal(Mix(Fnv1a(id)), Shard.StableHash(id));
    }

    private static ulong Fnv1a(string s)
    {
        var h = 0xcbf29ce484222325UL;
        foreach (var b in Encoding.UTF8.GetBytes(s)) h = unchecked((h ^ b) * 0x100000001b3UL);
        return h;
    }

    private static ulong Mix(ulong z)
    {
        z = unchecked((z ^ (z >> 30)) * 0xbf58476d1ce4e5b9UL);
        z = unchecked((z ^ (z >> 27)) * 0x94d049bb133111ebUL);
        return z ^ (z >> 31);
    }

    [Fact]
    public void Parses_text_and_job_array_environments()
    {
        Assert.Equal(new Shard(2, 5), Shard.Parse("2/5"));
        Assert.Equal(new Shard(0, 1), Shard.Parse(" 0 / 1 "));
        foreach (var bad in new[] { "5/5", "-1/3", "1", "a/b", "1/0" })
            Assert.Throws<OnnxTransferException>(() => Shard.Parse(bad, _ => null));

        var k8s = new Dictionary<string, string> { ["JOB_COMPLETION_INDEX"] = "3" };
        Assert.Equal(new Shard(3, 4), Shard.Parse("auto/4", k8s.GetValueOrDefault));
        Assert.Contains("auto/N", Assert.Throws<OnnxTransferException>(() => Shard.Parse("auto", k8s.GetValueOrDefault)).Message);

        var slurm = new Dictionary<string, string> { ["SLURM_ARRAY_TASK_ID"] = "7", ["SLURM_ARRAY_TASK_MIN"] = "5", ["SLURM_ARRAY_TASK_COUNT"] = "3" };
        Assert.Equal(new Shard(2, 3), Shard.Parse("auto", slurm.GetValueOrDefault));
        Assert.Throws<OnnxTransferException>(() => Shard.Parse("auto", _ => null));
    }

    [Fact]
    public void Part_path_names_index_and_count()
    {
        Assert.Equal(Path.Combine("out", "feats.part-1-of-3.parquet"), new Shard(1, 3).PartPath(Path.Combine("out", "feats.parquet")));
    }
}
