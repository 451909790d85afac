using System.Diagnostics;

namespace OnnxTransfer.Tests.SampleApps;

/// <summary>The samples/QuickStart console app builds and runs: trains on a folder, then predicts.</summary>
public class QuickStartSampleTests
{
    [Fact]
    public void Sample_trains_on_a_folder_and_predicts()
    {
        using var dir = new TempDir();
        var data = Path.Combine(dir.Path, "data");
        var source = SharedAssets.Dataset("hymenoptera");
        // A small copy of the dataset: 8 training and 4 validation images per class (copies: symlinks out of the folder are refused).
        foreach (var (split, count) in new[] { ("train", 8), ("val", 4) })
            foreach (var label in new[] { "ants", "bees" })
            {
                var target = Directory.CreateDirectory(Path.Combine(data, split, label)).FullName;
                foreach (var file in Directory.GetFiles(Path.Combine(source, split, label), "*.jpg").Order().Take(count))
                    File.Copy(file, Path.Combine(target, Path.GetFileName(file)));
            }

        var bin = Path.Combine(dir.Path, "bin");
        Run("dotnet", ["build", Path.Combine(SharedAssets.RepoRoot, "samples", "QuickStart", "QuickStart.csproj"), "-c", "Release", "-o", bin, "-nologo", "-v", "quiet"], dir.Path);
        var model = Path.Combine(dir.Path, "model.onnx");
        var output = Run("dotnet", [Path.Combine(bin, "QuickStart.dll"), data, model], dir.Path);

        Assert.Contains("held-out accuracy", output);
        Assert.True(File.Exists(model));
        var predictions = output.Split('\n').Where(l => l.Contains(".jpg: ")).ToArray();
        Assert.Equal(4, predictions.Length);
        Assert.All(predictions, l => Assert.Matches(@"\.jpg: (ants|bees) \(", l));
    }

    private static string Run(string file, string[] args, string workDir)
    {
        var psi = new ProcessStartInfo(file) { WorkingDirectory = workDir, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args) psi.ArgumentList.Add(a);
        psi.Environment["ONNXTRANSFER_MIRROR"] = SharedAssets.Models;
        psi.Environment["ONNXTRANSFER_HOME"] = Path.Combine(workDir, "cache");
        psi.Environment["ONNXTRANSFER_OFFLINE"] = "1";
        using var p = Process.Start(psi)!;
        var stderr = p.StandardError.ReadToEndAsync();
        var stdout = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        Assert.True(p.ExitCode == 0, $"{file} {string.Join(' ', args)} exited {p.ExitCode}:\n{stdout}\n{stderr.Result}");
        return stdout;
    }
}
