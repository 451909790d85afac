using Microsoft.Extensions.Options;

namespace OnnxTransfer.Hosting;

/// <summary>
/// Checks <see cref="TransferModelOptions"/> before the model is loaded, so a host that validates options at
/// start stops with one line per mistake naming the setting (as its configuration key) and the fix.
/// </summary>
/// <param name="section">The configuration path the options come from, used in messages (e.g. <c>TransferModel</c>).</param>
internal sealed class TransferModelOptionsValidator(string section) : IValidateOptions<TransferModelOptions>
{
    public ValidateOptionsResult Validate(string? name, TransferModelOptions options)
    {
        var failures = new List<string>();
        if (ModelPathProblem(options.ModelPath) is { } model) failures.Add(model);
        try { options.ToExecutionDevice(); }
        catch (OnnxTransferException)
        {
            failures.Add($"{section}:Device '{options.Device}' is not a device; use cpu, cuda, cuda:N, auto or ep:NAME[:key=value,...].");
        }
        if (options.Threads < 0)
            failures.Add($"{section}:Threads is {options.Threads}; use 0 (one per core) or a positive thread count.");
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    private string? ModelPathProblem(string path)
    {
        var hint = $"set {section}:ModelPath (environment: {section.Replace(":", "__")}__ModelPath) to a model exported by `onnxtransfer export`.";
        if (string.IsNullOrWhiteSpace(path)) return $"{section}:ModelPath is not set; {hint}";
        string full;
        try { full = Path.GetFullPath(path); }
        catch (Exception e) when (e is ArgumentException or NotSupportedException or PathTooLongException)
        {
            return $"{section}:ModelPath '{path}' is not a valid path; {hint}";
        }
        // A folder is accepted: a model with external data may be saved as one.
        return File.Exists(full) || Directory.Exists(full) ? null : $"{section}:ModelPath {full}: no such file; {hint}";
    }
}
