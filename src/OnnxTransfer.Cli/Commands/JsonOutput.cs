using System.CommandLine;
using System.Text.Json.Serialization.Metadata;

namespace OnnxTransfer.Cli.Commands;

/// <summary>The <c>--json</c> option of commands that print one result object, and its printing.</summary>
internal static class JsonOutput
{
    /// <summary>A new <c>--json</c> option.</summary>
    public static Option<bool> Option() => new("--json")
    {
        Description = "Print the result as one JSON object (snake_case names) on stdout and nothing else there; progress and notes go to stderr.",
    };

    /// <summary>Prints <paramref name="value"/> on the invocation's stdout.</summary>
    public static void Write<T>(ParseResult parseResult, T value, JsonTypeInfo<T> info) =>
        parseResult.InvocationConfiguration.Output.WriteLine(JsonText.Write(value, info));

    /// <summary>Prints ready JSON text on the invocation's stdout.</summary>
    public static void Write(ParseResult parseResult, string json) => parseResult.InvocationConfiguration.Output.WriteLine(json.TrimEnd('\n'));
}
