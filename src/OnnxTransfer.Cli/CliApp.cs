using System.CommandLine;

namespace OnnxTransfer.Cli;
public static class CliApp
{
    public static int Run(string[] args)
    {
        var root = new RootCommand("OnnxTransfer");
        var model = new Argument<string>("model") { Description = "x" };
        var json = new Option<bool>("--json") { Description = "json" };
        var at = new Option<string>("--at", "-a") { Description = "at", DefaultValueFactory = _ => "auto" };
        var cmd = new Command("inspect", "Inspect") { model, json, at };
        cmd.SetAction(pr => { Console.WriteLine($"{pr.GetValue(model)} {pr.GetValue(json)} {pr.GetValue(at)}"); return 0; });
        root.Subcommands.Add(cmd);
        return root.Parse(args).Invoke();
    }
}
