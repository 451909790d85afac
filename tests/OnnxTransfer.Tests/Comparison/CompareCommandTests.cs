using System.Diagnostics;
using OnnxTransfer.Comparison;
using OnnxTransfer.Export;
using static OnnxTransfer.Tests.Hardening.HostileInputs;

namespace OnnxTransfer.Tests.Comparison;

public class CompareCommandTests
{
    [Fact]
    public void Compare_prints_a_row_per_candidate_the_skipped_ones_and_a_choice()
    {
        using var dir = new TempDir();
        var data = SharedAssets.SmallHymenoptera(dir, train: 10, val: 4);
        File.Copy(SharedAssets.MobileNetV2Int8, dir.File("twin.onnx"));
        var (code, output, error) = RunCli("compare", "--data", data, "--out", dir.File("cmp"),
            "--backbones", $"{SharedAssets.MobileNetV2Int8},{dir.File("twin.onnx")},{dir.File("missing.onnx")}");
        Console.WriteLine(output);

        Assert.Null(error);
        Assert.Equal(0, code);
        var lines = output.Split('\n');
        Assert.Single(lines, l => l.Contains("│ mobilenetv2-12-int8"));
        Assert.Single(lines, l => l.Contains("│ twin"));
        Assert.Single(lines, l => l.StartsWith($"skipped: {dir.File("missing.onnx")} (", StringComparison.Ordinal));
        var choice = Assert.Single(lines, l => l.StartsWith("choice: ", StringComparison.Ordinal));
        var chosen = ComparisonReport.ReadJson(dir.File("cmp/compare.json"))!.Chosen;
        Assert.StartsWith($"choice: {chosen}: ", choice);
        Assert.Single(lines, l => l.Contains($"{chosen} (chosen)"));
        Assert.Contains("never probed", Assert.Single(lines, l => l.StartsWith("probe: 5-fold", StringComparison.Ordinal)));

        // --json prints compare.json's object and nothing else on stdout (the features are cached by now).
        var (jsonCode, json, _) = RunCli("compare", "--data", data, "--out", dir.File("cmp"), "--json",
            "--backbones", $"{SharedAssets.MobileNetV2Int8},{dir.File("twin.onnx")}");
        Assert.Equal(0, jsonCode);
        using var parsed = System.Text.Json.JsonDocument.Parse(json);
        // The twins tie on accuracy, so the pick between them follows this run's latency: compare with this run's file.
        var rechosen = parsed.RootElement.GetProperty("chosen").GetString();
        Assert.Equal(ComparisonReport.ReadJson(dir.File("cmp/compare.json"))!.Chosen, rechosen);
        Assert.Contains(rechosen, new[] { "mobilenetv2-12-int8", "twin" });
        Assert.Equal(2, parsed.RootElement.GetProperty("scores").GetArrayLength());
        Assert.Equal(20, parsed.RootElement.GetProperty("probe_items").GetArrayLength());
    }

    /// <summary>
    /// `fit --backbone auto` as a user runs it, offline: the default candidates are the image backbones found in the mirror
    /// and the NuGet global packages folder (int8 MobileNetV2, resnet18); the others are listed as skipped.
    /// </summary>
    [Fact]
    public async Task Fit_with_backbone_auto_compares_then_fits_the_winner_on_its_cached_features_and_records_it_in_the_model()
    {
        using var dir = new TempDir();
        var data = SharedAssets.SmallHymenoptera(dir, train: 10, val: 4);
        var model = dir.File("out/model.onnx");
        var (code, output, error) = await CliAsync(dir, "fit", "--backbone", "auto", "--data", data, "--out", model);
        Console.WriteLine(output);
        Assert.True(code == 0, error);

        var lines = output.Split('\n');
        Assert.Single(lines, l => l.Contains("│ mobilenetv2-12-int8"));
        Assert.Single(lines, l => l.Contains("│ resnet18"));
        Assert.Single(lines, l => l.StartsWith($"skipped: mobilenetv2-7 ({BackboneComparison.NotOffline})", StringComparison.Ordinal));
        Assert.Single(lines, l => l.StartsWith("skipped: resnet50-v1-7 (", StringComparison.Ordinal));
        var choice = Assert.Single(lines, l => l.StartsWith("choice: ", StringComparison.Ordinal));
        var chosen = choice["choice: ".Length..choice.IndexOf(':', "choice: ".Length)];
        Assert.Contains(chosen, new[] { "mobilenetv2-12-int8", "resnet18" });

        Assert.Equal(chosen, ModelMetadata.Read(OnnxTransfer.Onnx.OnnxModel.Load(model)).Backbone);
        Assert.Equal(chosen, ComparisonReport.ReadJson(dir.File("out/model.compare/compare.json"))!.Chosen);
        // The comparison's store of the winner became the fit's: nothing was extracted twice.
        Assert.Contains(lines, l => l.StartsWith("features: ", StringComparison.Ordinal) && l.Contains("(0 extracted, 28 cached"));
    }

    private static async Task<(int Code, string Output, string Error)> CliAsync(TempDir dir, params string[] args)
    {
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        psi.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "OnnxTransfer.Cli.dll"));
        foreach (var a in args) psi.ArgumentList.Add(a);
        psi.Environment["ONNXTRANSFER_MIRROR"] = SharedAssets.Models;
        psi.Environment["ONNXTRANSFER_HOME"] = dir.File("cache");
        psi.Environment["ONNXTRANSFER_OFFLINE"] = "1";
        using var p = Process.Start(psi)!;
        var output = p.StandardOutput.ReadToEndAsync();
        var error = p.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(10));
        await p.WaitForExitAsync(timeout.Token);
        return (p.ExitCode, await output, await error);
    }
}
