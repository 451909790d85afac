using System.CommandLine;
using System.Security.Cryptography;

namespace OnnxTransfer.Tests.Hardening;

/// <summary>Runs the CLI in-process as <c>CliApp.Run</c> does, and fingerprints files and folders to prove they did not change.</summary>
internal static class OutputSafetyKit
{
    /// <summary>Exit code, stdout and stderr; a user error prints "error: ..." and returns 1, as the real CLI does.</summary>
    public static (int Code, string Out, string Err) RunCli(params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        var config = new InvocationConfiguration { Output = output, Error = error, EnableDefaultExceptionHandler = false };
        int code;
        try
        {
            code = OnnxTransfer.Cli.CliApp.Build().Parse(args).Invoke(config);
        }
        catch (Exception e) when (Unwrap(e) is OnnxTransferException ote)
        {
            error.WriteLine($"error: {ote.Message}");
            code = 1;
        }
        return (code, output.ToString(), error.ToString());
    }

    /// <summary>Asserts a refused run: exit 1 and one error line (no stack trace) containing every fragment.</summary>
    public static void AssertRefused((int Code, string Out, string Err) run, params string[] fragments)
    {
        Assert.Equal(1, run.Code);
        var lines = run.Err.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var line = Assert.Single(lines);
        Assert.DoesNotContain("   at ", run.Err);
        foreach (var f in fragments) Assert.Contains(f, line);
    }

    /// <summary>A one-line user error (no newline, no stack trace).</summary>
    public static void AssertOneLine(OnnxTransferException e, params string[] fragments)
    {
        Assert.DoesNotContain('\n', e.Message);
        foreach (var f in fragments) Assert.Contains(f, e.Message);
    }

    /// <summary>Relative path → SHA-256 of every file under <paramref name="path"/> (or of the file itself).</summary>
    public static SortedDictionary<string, string> Fingerprint(string path)
    {
        var result = new SortedDictionary<string, string>(StringComparer.Ordinal);
        if (File.Exists(path)) result[""] = Hash(path);
        else if (Directory.Exists(path))
            foreach (var f in Directory.EnumerateFiles(path, "*", SearchOption.AllDirectories))
                result[Path.GetRelativePath(path, f)] = Hash(f);
        return result;
    }

    /// <summary>Hidden temporary siblings, partial folders and lock files left in <paramref name="folder"/>.</summary>
    public static string[] Litter(string folder) =>
        Directory.EnumerateFileSystemEntries(folder, "*", SearchOption.AllDirectories)
            .Where(p => Path.GetFileName(p) is var n && (n.EndsWith(".tmp", StringComparison.Ordinal) || n.EndsWith(".old", StringComparison.Ordinal)
                || n.EndsWith(".partial", StringComparison.Ordinal) || n.EndsWith(".lock", StringComparison.Ordinal)))
            .ToArray();

    private static string Hash(string file) => Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(file)));

    private static Exception Unwrap(Exception e) =>
        e is AggregateException { InnerExceptions.Count: 1 } a ? Unwrap(a.InnerException!) : e;
}

/// <summary>Reports on the caller's thread (Progress&lt;T&gt; would post to the thread pool, too late to cancel at a given epoch).</summary>
internal sealed class SyncProgress(Action<ProgressUpdate> report) : IProgress<ProgressUpdate>
{
    public void Report(ProgressUpdate value) => report(value);
}
