namespace OnnxTransfer.Features;

/// <summary>
/// An extraction was cancelled (Ctrl-C, SIGTERM from a scheduler's preemption) after keeping what it had
/// extracted: <see cref="Kept"/> of the <see cref="Total"/> items to do are stored, in <see cref="Folder"/>
/// (and the existing output, if any), and the same command resumes from there. The message says so in one line.
/// </summary>
public sealed class ExtractionStoppedException(int kept, int total, int extractedThisRun, string folder, CancellationToken token)
    : OperationCanceledException(
        $"stopped: {kept} of {total} items are kept ({extractedThisRun} extracted in this run) in {folder}; run the same command again to resume from there.",
        token)
{
    /// <summary>Items stored so far (this run and earlier ones).</summary>
    public int Kept { get; } = kept;

    /// <summary>Items this extraction (or shard) covers.</summary>
    public int Total { get; } = total;

    /// <summary>Items extracted by the run that was stopped.</summary>
    public int ExtractedThisRun { get; } = extractedThisRun;

    /// <summary>The checkpoint folder (<c>&lt;out&gt;.partial</c>) the next run resumes from.</summary>
    public string Folder { get; } = folder;
}
