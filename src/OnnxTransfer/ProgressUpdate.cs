namespace OnnxTransfer;

/// <summary>
/// Progress of a long operation, reported through <see cref="IProgress{T}"/>. The library never
/// writes to the console; the CLI renders these as a progress bar (or plain lines when not a terminal).
/// </summary>
/// <param name="Stage">What is being done ("download", "extract", "train").</param>
/// <param name="Done">Units finished so far.</param>
/// <param name="Total">Units in all, or null when unknown.</param>
/// <param name="Unit">What a unit is ("items", "bytes", "epochs").</param>
/// <param name="Message">Optional detail for the current step (e.g. "loss 0.213, val acc 0.94").</param>
public sealed record ProgressUpdate(string Stage, long Done, long? Total, string Unit = "items", string? Message = null);
