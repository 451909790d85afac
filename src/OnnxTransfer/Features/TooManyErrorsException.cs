namespace OnnxTransfer.Features;

/// <summary>
/// More items failed than <c>--max-errors</c> allows. Thrown after the run has stopped safely: what was
/// extracted is kept for resuming, the failures are in the errors file.
/// </summary>
public sealed class TooManyErrorsException(string message) : OnnxTransferException(message);
