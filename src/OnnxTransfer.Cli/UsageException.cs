namespace OnnxTransfer.Cli;

/// <summary>
/// A command line that cannot work as given (a bad option value or a missing or conflicting option), as opposed to a
/// failure while working: the CLI prints it as <c>error: ...</c> and exits 2 instead of 1.
/// </summary>
internal sealed class UsageException(string message, Exception? inner = null) : OnnxTransferException(message, inner);
