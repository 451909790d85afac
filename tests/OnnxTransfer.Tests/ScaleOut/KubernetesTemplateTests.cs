using System.Diagnostics;
using System.Text.RegularExpressions;

namespace OnnxTransfer.Tests.ScaleOut;

/// <summary>
/// What can be checked of the Kubernetes side without a cluster or container runtime: tools/k8s-indexed-job.yaml
/// parses, its shard count agrees with the Job, its merge reads exactly the parts the extraction writes, its
/// extract command line is the one tools/slurm-array.sh gives each Slurm task (the one SlurmArrayTests runs on
/// a real Slurm), and the Dockerfile builds the image it names with the CLI where the Jobs call it.
/// </summary>
public class KubernetesTemplateTests
{
    [Fact]
    public void The_template_is_an_indexed_extraction_job_and_a_merge_job_on_one_image()
    {
        var t = K8sTemplate.Load();
        foreach (var job in new[] { t.Extract, t.Merge })
        {
            Assert.Equal("batch/v1", K8sTemplate.Scalar(job, "apiVersion"));
            Assert.Equal("Job", K8sTemplate.Scalar(job, "kind"));
            // A pod that was preempted must not be restarted in place by the kubelet; the Job retries the index instead.
            Assert.Equal("Never", K8sTemplate.Scalar(job, "spec", "template", "spec", "restartPolicy"));
        }
        Assert.Equal("Indexed", K8sTemplate.Scalar(t.Extract, "spec", "completionMode"));
        Assert.Equal(K8sTemplate.Image(t.Extract), K8sTemplate.Image(t.Merge));
        Assert.Equal("extract", t.ExtractArgs[0]);
    }

    [Fact]
    public void Its_shard_count_is_the_jobs_completions_and_the_merge_takes_exactly_those_parts()
    {
        var t = K8sTemplate.Load();
        Assert.Equal(t.Completions, t.ShardCount);
        Assert.InRange(t.Parallelism, 1, t.Completions);
        Assert.Equal(["sh", "-c"], t.MergeCommandLine.Take(2));
        var merge = t.MergeCommandLine[2].Split(' ', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(["onnxtransfer", "merge"], merge.Take(2));
        var mergeOptions = merge.Skip(2).ToArray();
        var glob = Assert.Single(mergeOptions.TakeWhile(a => !a.StartsWith("--")));
        var output = t.ExtractOptions["--out"];
        Assert.Equal(output, K8sTemplate.Options(mergeOptions[1..])["--out"]);
        // The glob matches the part file of every index and nothing else.
        var pattern = new Regex("^" + Regex.Escape(glob).Replace(@"\*", "[^/]*") + "$");
        var stem = output[..^".parquet".Length];
        for (var i = 0; i < t.Completions; i++) Assert.Matches(pattern, $"{stem}.part-{i}-of-{t.Completions}.parquet");
        Assert.DoesNotMatch(pattern, $"{stem}.part-0-of-{t.Completions + 1}.parquet");
        Assert.DoesNotMatch(pattern, output);
    }

    [Fact]
    public void A_slurm_array_task_runs_the_extract_command_line_of_the_template()
    {
        var t = K8sTemplate.Load();
        using var dir = new TempDir();
        // A stand-in sbatch that records its arguments and runs the --wrap command as task 0 would, with a
        // stand-in CLI that records the argv it receives: the quoting is exercised exactly as on Slurm.
        var bin = Directory.CreateDirectory(dir.File("bin")).FullName;
        WriteScript(Path.Combine(bin, "sbatch"), """
            #!/usr/bin/env bash
            n=$(cat "$STUB_DIR/count" 2>/dev/null || echo 0); echo $((n + 1)) >"$STUB_DIR/count"
            printf '%s\0' "$@" >"$STUB_DIR/sbatch-$n.args"
            wrap=""; prev=""; for a in "$@"; do [ "$prev" = --wrap ] && wrap="$a"; prev="$a"; done
            SLURM_ARRAY_TASK_ID=0 SLURM_ARRAY_TASK_MIN=0 STUB_OUT="$STUB_DIR/run-$n.args" sh -c "$wrap" >&2
            echo $((100 + n))
            """);
        var cli = Path.Combine(bin, "cli");
        WriteScript(cli, """
            #!/usr/bin/env bash
            [ -n "${STUB_OUT:-}" ] && printf '%s\0' "$@" >"$STUB_OUT"
            exit 0
            """);
        var data = Directory.CreateDirectory(dir.File("my data's $HOME")).FullName;
        var output = Path.Combine(dir.Path, "out dir", "features.parquet");
        var n = t.ShardCount;

        var psi = new ProcessStartInfo(Path.Combine(SharedAssets.RepoRoot, "tools", "slurm-array.sh")) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in (string[])[data, output, n.ToString(), .. t.SharedExtractOptions]) psi.ArgumentList.Add(a);
        psi.Environment["PATH"] = bin + ":" + Environment.GetEnvironmentVariable("PATH");
        psi.Environment["ONNXTRANSFER"] = cli;
        psi.Environment["STUB_DIR"] = dir.Path;
        using (var p = Process.Start(psi)!)
        {
            var stderr = p.StandardError.ReadToEndAsync();
            var stdout = p.StandardOutput.ReadToEnd();
            p.WaitForExit();
            Assert.True(p.ExitCode == 0, $"slurm-array.sh exited {p.ExitCode}: {stdout} {stderr.Result}");
            Assert.Contains($"submitted extraction array 100 ({n} tasks) and merge job 101", stdout);
        }

        var array = Args(dir.File("sbatch-0.args"));
        Assert.Contains($"--array=0-{n - 1}", array);
        Assert.Contains("--requeue", array);
        Assert.Contains("--open-mode=append", array);  // a requeued task's log keeps what the stopped run kept
        Assert.Contains("--dependency=afterok:100", Args(dir.File("sbatch-1.args")));

        var task = Args(dir.File("run-0.args"));
        Assert.Equal("extract", task[0]);
        var expected = t.ExtractOptions.ToDictionary(o => o.Key, o => o.Value);
        expected["--data"] = data;
        expected["--out"] = output;
        Assert.Equal(expected.OrderBy(o => o.Key), K8sTemplate.Options(task[1..]).OrderBy(o => o.Key));

        var stem = output[..^".parquet".Length];
        Assert.Equal(["merge", .. Enumerable.Range(0, n).Select(i => $"{stem}.part-{i}-of-{n}.parquet"), "--out", output], Args(dir.File("run-1.args")));
    }

    [Fact]
    public void The_dockerfile_builds_the_image_the_template_names_with_the_cli_where_the_jobs_call_it()
    {
        var t = K8sTemplate.Load();
        var dockerfile = File.ReadAllText(Path.Combine(SharedAssets.RepoRoot, "Dockerfile"));
        Assert.Contains($"docker build -t {K8sTemplate.Image(t.Extract)} .", dockerfile);
        // The extraction container gives only args: the image's entry point must be the CLI.
        Assert.Contains("ENTRYPOINT [\"onnxtransfer\"]", dockerfile);
        // The merge runs `onnxtransfer` through sh: it must be on PATH.
        Assert.Contains(">/usr/local/bin/onnxtransfer", dockerfile);
        Assert.Contains("exec dotnet /opt/onnxtransfer/OnnxTransfer.Cli.dll", dockerfile);
        // The template's backbone is pulled into the image, so pods need no network.
        Assert.Matches($"ARG BACKBONES=.*\\b{Regex.Escape(t.ExtractOptions["--backbone"])}\\b", dockerfile);
    }

    private static string[] Args(string file) => File.ReadAllText(file).TrimEnd('\0').Split('\0');

    private static void WriteScript(string path, string text)
    {
        File.WriteAllText(path, text.ReplaceLineEndings("\n") + "\n");
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
    }
}
