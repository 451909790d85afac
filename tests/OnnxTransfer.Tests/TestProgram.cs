namespace OnnxTransfer.Tests;

/// <summary>
/// Entry point of the test assembly when a test starts it as a child process (`dotnet OnnxTransfer.Tests.dll
/// MODE ...`), for behaviour that needs a real process, such as surviving SIGKILL. Test runners never call it.
/// </summary>
public static class TestProgram
{
    public static int Main(string[] args) => args.FirstOrDefault() switch
    {
        Features.KilledExtractionTests.ChildMode => Features.KilledExtractionTests.Child(args[1..]),
        Training.RealFeatureTrainingTests.ChildMode => Training.RealFeatureTrainingTests.Child(args[1..]),
        Autodiff.FineTuneCheckpointTests.ChildMode => Autodiff.FineTuneCheckpointTests.Child(args[1..]),
        Hardening.PreemptionTests.ChildMode => Hardening.PreemptionTests.Child(args[1..]),
        Runtime.OnnxRuntimeLogTests.ChildMode => Runtime.OnnxRuntimeLogTests.Child(args[1..]),
        Runtime.OnnxRuntimeLogTests.PlainOrtChildMode => Runtime.OnnxRuntimeLogTests.PlainOrtChild(args[1..]),
        "cli" => global::OnnxTransfer.Cli.CliApp.Run(args[1..]),
        _ => 2,
    };
}
