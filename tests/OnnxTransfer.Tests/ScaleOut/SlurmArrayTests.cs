using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;
using OnnxTransfer.Features;
using Xunit.Abstractions;

namespace OnnxTransfer.Tests.ScaleOut;

/// <summary>
/// tools/slurm-array.sh on a real Slurm (tools/slurm-local: a one-node cluster on this machine): the chest X-ray
/// subset is extracted as a job array with the Kubernetes template's options, one running task is preempted
/// (`scontrol requeue`: SIGTERM, KillWait, SIGKILL) and resumes from its checkpoint, the merge job runs after the
/// array, and the merged file has the bytes of a single-process extract. Fails, not skips, when Slurm cannot
/// start: CI is expected to run it (root, apt). Prints the wall times of the array and of the single process.
/// </summary>
public class SlurmArrayTests(ITestOutputHelper log)
{
    // 1,200 images: about 300 a task, several seconds each on two cores, so a task is caught mid-run.
    private const int ImagesPerClass = 600;

    [Fact]
    public async Task A_slurm_array_with_a_preempted_task_merges_to_the_bytes_of_a_single_process_extract()
    {
        var template = K8sTemplate.Load();
        var n = template.ShardCount;
        using var dir = new TempDir();
        var data = SubsetOfChestXrays(dir.File("data"));
        var work = dir.File("work");

        var script = Path.Combine(SharedAssets.RepoRoot, "tests", "OnnxTransfer.Tests", "ScaleOut", "slurm-array-e2e.sh");
        var (code, stdout, stderr) = await RunAsync(Path.Combine(SharedAssets.RepoRoot, "tools", "slurm-local"),
            [script, data, work, n.ToString(CultureInfo.InvariantCulture), .. template.SharedExtractOptions], dir.File("cache"));
        log.WriteLine(stdout);
        Assert.True(code == 0, $"tools/slurm-local {Path.GetFileName(script)} exited {code}:\n{stdout}\n{stderr}");
        var facts = stdout.Split('\n').Select(l => l.Split(": ", 2)).Where(p => p.Length == 2).GroupBy(p => p[0]).ToDictionary(g => g.Key, g => g.Last()[1].Trim());

        var victim = int.Parse(facts["preempted task"], CultureInfo.InvariantCulture);
        for (var i = 0; i < n; i++)
            Assert.Equal($"JobState=COMPLETED Restarts={(i == victim ? 1 : 0)} ExitCode=0:0", facts[$"task {i}"]);
        Assert.Equal("JobState=COMPLETED ExitCode=0:0", facts["merge"]);

        // The preempted run kept its rows and said so in the task's log; the requeued run resumed from them.
        var array = Path.Combine(work, "array");
        var taskLog = File.ReadAllText(Path.Combine(array, $"features.part-{victim}-of-{n}.log"));
        var stopped = Regex.Match(taskLog, @"stopped: (\d+) of (\d+) items are kept \((\d+) extracted in this run\) in (\S+);");
        Assert.True(stopped.Success, "the preempted task's log does not say what it kept:\n" + taskLog);
        var kept = int.Parse(stopped.Groups[1].Value, CultureInfo.InvariantCulture);
        var total = int.Parse(stopped.Groups[2].Value, CultureInfo.InvariantCulture);
        Assert.InRange(kept, 1, total - 1);
        Assert.Equal(FeatureStore.PartialPath(Path.Combine(array, $"features.part-{victim}-of-{n}.parquet")), stopped.Groups[4].Value);
        Assert.Contains($"{total - kept} new rows, {kept} already stored, 0 errors", taskLog);

        var merged = Path.Combine(array, "features.parquet");
        Assert.Contains($"merged {n} parts, {2 * ImagesPerClass} rows -> {merged}", File.ReadAllText(Path.Combine(array, "features.merge.log")));
        Assert.Equal(2 * ImagesPerClass, (await FeatureStore.ReadAsync(merged)).Count);
        Assert.True(File.ReadAllBytes(Path.Combine(work, "single", "features.parquet")).AsSpan().SequenceEqual(File.ReadAllBytes(merged)),
            "the merged array output differs from the single-process extract");

        var summary = $"slurm array of {n} tasks on {2 * ImagesPerClass} chest X-rays ({Environment.ProcessorCount} cores, task {victim} preempted after {kept} of {total} items): " +
                      $"array {facts["array wall s"]} s, single process {facts["single wall s"]} s";
        log.WriteLine(summary);
        Console.Error.WriteLine(summary);
    }

    /// <summary>The first <see cref="ImagesPerClass"/> images of each class (copies: symlinks out of the dataset are refused).</summary>
    private static string SubsetOfChestXrays(string target)
    {
        var source = Path.Combine(SharedAssets.Dataset("chest_xray"), "train");
        foreach (var label in new[] { "NORMAL", "PNEUMONIA" })
        {
            var folder = Directory.CreateDirectory(Path.Combine(target, label)).FullName;
            var files = Directory.GetFiles(Path.Combine(source, label)).Order(StringComparer.Ordinal).Take(ImagesPerClass).ToArray();
            Assert.Equal(ImagesPerClass, files.Length);
            foreach (var file in files) File.Copy(file, Path.Combine(folder, Path.GetFileName(file)));
        }
        return target;
    }

    /// <summary>Runs the command to its end; after 25 minutes it gets SIGTERM (so slurm-local stops its cluster), then SIGKILL.</summary>
    private static async Task<(int Code, string Output, string Error)> RunAsync(string file, string[] args, string cache)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = SharedAssets.RepoRoot };
        foreach (var a in args) psi.ArgumentList.Add(a);
        // The template names the backbone; it comes from the shared models folder, never the network.
        psi.Environment["ONNXTRANSFER_MIRROR"] = SharedAssets.Models;
        psi.Environment["ONNXTRANSFER_HOME"] = cache;
        psi.Environment["ONNXTRANSFER_OFFLINE"] = "1";
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        using var guard = new CancellationTokenSource(TimeSpan.FromMinutes(25));
        try { await p.WaitForExitAsync(guard.Token); }
        catch (OperationCanceledException)
        {
            Process.Start("kill", ["-TERM", p.Id.ToString(CultureInfo.InvariantCulture)])!.WaitForExit();
            if (!p.WaitForExit(TimeSpan.FromSeconds(120))) p.Kill(entireProcessTree: true);
            Assert.Fail($"{file} still running after 25 minutes:\n{await stdout}\n{await stderr}");
        }
        return (p.ExitCode, await stdout, await stderr);
    }
}
