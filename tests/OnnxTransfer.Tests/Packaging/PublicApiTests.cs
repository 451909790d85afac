using System.Reflection;
using PublicApiGenerator;

namespace OnnxTransfer.Tests.Packaging;

/// <summary>
/// Every package's public API is checked in (api/NAME.txt): a change to the surface shows up as a diff to review.
/// On a mismatch the test writes api/NAME.received.txt; review it and move it over the baseline to accept.
/// </summary>
public class PublicApiTests
{
    public static TheoryData<string> Packages => new() { "OnnxTransfer.Inference", "OnnxTransfer.Training", "OnnxTransfer.Hosting" };

    [Theory]
    [MemberData(nameof(Packages))]
    public void Public_api_matches_the_reviewed_baseline(string package)
    {
        var assembly = package switch
        {
            "OnnxTransfer.Inference" => typeof(global::OnnxTransfer.Inference.TransferModel).Assembly,
            "OnnxTransfer.Training" => typeof(Learner).Assembly,
            "OnnxTransfer.Hosting" => typeof(OnnxTransfer.Hosting.TransferModelOptions).Assembly,
            _ => throw new ArgumentException(package),
        };
        var api = Normalize(assembly.GeneratePublicApi(new ApiGeneratorOptions { IncludeAssemblyAttributes = false }));
        var baseline = Path.Combine(SharedAssets.RepoRoot, "api", package + ".txt");
        var received = Path.ChangeExtension(baseline, ".received.txt");
        var expected = File.Exists(baseline) ? Normalize(File.ReadAllText(baseline)) : "";
        if (api == expected)
        {
            File.Delete(received);
            return;
        }
        File.WriteAllText(received, api);
        Assert.Fail($"the public API of {package} changed: review `diff {baseline} {received}`, then accept it with `mv {received} {baseline}`.");
    }

    [Fact]
    public void Generated_onnx_protobuf_types_are_not_public()
    {
        var exported = typeof(Learner).Assembly.GetExportedTypes();
        Assert.DoesNotContain(exported, t => t.Namespace?.StartsWith("OnnxTransfer.Onnx.Proto", StringComparison.Ordinal) == true);
        Assert.DoesNotContain(exported, t => t.GetProperties().Any(p => p.PropertyType.Namespace == "OnnxTransfer.Onnx.Proto"));
    }

    private static string Normalize(string text) => text.Replace("\r\n", "\n").Trim() + "\n";
}
