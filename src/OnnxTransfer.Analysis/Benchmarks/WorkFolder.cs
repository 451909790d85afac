namespace OnnxTransfer.Benchmarks;

/// <summary>A benchmark's folder for heads and CSVs: the one given, kept; or a new temp folder, deleted on dispose.</summary>
internal sealed class WorkFolder : IDisposable
{
    private readonly bool _temporary;

    /// <summary>Uses <paramref name="given"/>, or a new temp folder when null.</summary>
    public WorkFolder(string? given)
    {
        _temporary = given is null;
        Path = given ?? System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"onnxtransfer-bench-{Environment.ProcessId}-{Guid.NewGuid():N}"[..40]);
        Directory.CreateDirectory(Path);
    }

    /// <summary>The folder.</summary>
    public string Path { get; }

    /// <inheritdoc/>
    public void Dispose()
    {
        if (!_temporary) return;
        try { Directory.Delete(Path, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}
