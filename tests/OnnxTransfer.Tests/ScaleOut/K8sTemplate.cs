using YamlDotNet.RepresentationModel;

namespace OnnxTransfer.Tests.ScaleOut;

/// <summary>tools/k8s-indexed-job.yaml, parsed: the Indexed extraction Job and the merge Job.</summary>
internal sealed class K8sTemplate
{
    private K8sTemplate(YamlMappingNode extract, YamlMappingNode merge)
    {
        Extract = extract;
        Merge = merge;
    }

    public static string FilePath => Path.Combine(SharedAssets.RepoRoot, "tools", "k8s-indexed-job.yaml");

    /// <summary>The Job named features-extract.</summary>
    public YamlMappingNode Extract { get; }

    /// <summary>The Job named features-merge.</summary>
    public YamlMappingNode Merge { get; }

    /// <summary>Parses the file (a YAML error fails the test with its line) and finds both Jobs by name.</summary>
    public static K8sTemplate Load()
    {
        var stream = new YamlStream();
        using (var reader = new StreamReader(FilePath)) stream.Load(reader);
        var jobs = stream.Documents.Select(d => (YamlMappingNode)d.RootNode).ToDictionary(d => Scalar(d, "metadata", "name"));
        return new K8sTemplate(jobs["features-extract"], jobs["features-merge"]);
    }

    public int Completions => int.Parse(Scalar(Extract, "spec", "completions"));

    public int Parallelism => int.Parse(Scalar(Extract, "spec", "parallelism"));

    /// <summary>The extraction container's args: "extract", then option/value pairs.</summary>
    public IReadOnlyList<string> ExtractArgs => Strings(Container(Extract), "args");

    /// <summary>The options of <see cref="ExtractArgs"/> by name.</summary>
    public IReadOnlyDictionary<string, string> ExtractOptions => Options(ExtractArgs.Skip(1).ToArray());

    /// <summary>The extract options other than --data, --out and --shard, which every launcher sets itself.</summary>
    public string[] SharedExtractOptions => ExtractOptions.Where(o => o.Key is not ("--data" or "--out" or "--shard"))
        .SelectMany(o => new[] { o.Key, o.Value }).ToArray();

    /// <summary>N of "--shard auto/N".</summary>
    public int ShardCount => int.Parse(ExtractOptions["--shard"].Split('/') is ["auto", var n] ? n : throw new FormatException("--shard is not auto/N: " + ExtractOptions["--shard"]));

    /// <summary>The merge container's command and args joined, e.g. ["sh", "-c", "onnxtransfer merge ..."].</summary>
    public IReadOnlyList<string> MergeCommandLine => [.. Strings(Container(Merge), "command"), .. Strings(Container(Merge), "args")];

    public static string Image(YamlMappingNode job) => Scalar(Container(job), "image");

    /// <summary>"--name value" pairs into a map; fails on a lone word, since every extract option here takes a value.</summary>
    public static IReadOnlyDictionary<string, string> Options(IReadOnlyList<string> args)
    {
        var map = new Dictionary<string, string>();
        for (var i = 0; i < args.Count; i += 2)
        {
            Assert.StartsWith("--", args[i]);
            Assert.True(i + 1 < args.Count, $"option {args[i]} has no value");
            map.Add(args[i], args[i + 1]);
        }
        return map;
    }

    private static YamlMappingNode Container(YamlMappingNode job)
    {
        var containers = (YamlSequenceNode)Node(job, "spec", "template", "spec", "containers");
        return (YamlMappingNode)Assert.Single(containers.Children);
    }

    private static string[] Strings(YamlMappingNode node, string key) =>
        node.Children.TryGetValue(new YamlScalarNode(key), out var list) ? ((YamlSequenceNode)list).Children.Select(c => ((YamlScalarNode)c).Value!).ToArray() : [];

    public static string Scalar(YamlNode node, params string[] path) => ((YamlScalarNode)Node(node, path)).Value!;

    public static YamlNode Node(YamlNode node, params string[] path)
    {
        foreach (var key in path)
            node = ((YamlMappingNode)node).Children.TryGetValue(new YamlScalarNode(key), out var child) ? child
                : throw new KeyNotFoundException($"{FilePath}: no '{key}' in {string.Join('.', path)}");
        return node;
    }
}
