using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using OnnxTransfer.Hosting;
using OnnxTransfer.Runtime;

namespace OnnxTransfer.Tests.Hosting;

/// <summary>AddTransferModel binds its options from configuration and refuses bad ones at start, naming the key.</summary>
public class TransferModelOptionsTests
{
    [Fact]
    public void Options_bind_from_configuration_into_device_threads_and_backbone_locations()
    {
        using var dir = new TempDir();
        var model = dir.File("model.onnx");
        File.WriteAllBytes(model, [1]); // only its existence is checked before the model is used
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["TransferModel:ModelPath"] = model,
            ["TransferModel:Device"] = "cuda:1",
            ["TransferModel:Threads"] = "2",
            ["TransferModel:ModelMirror"] = "/mnt/models:/srv/more-models",
            ["TransferModel:CacheFolder"] = dir.File("cache"),
            ["TransferModel:Offline"] = "true",
        }).Build();
        using var services = new ServiceCollection().AddTransferModel(configuration.GetSection("TransferModel")).BuildServiceProvider();

        var options = services.GetRequiredService<IOptions<TransferModelOptions>>().Value;
        Assert.Equal(model, options.ModelPath);
        Assert.Equal(ExecutionDevice.Cuda(1), options.ToExecutionDevice());
        Assert.Equal(2, options.ToSessionSettings().IntraOpThreads);
        var locations = options.ToBackboneLocations();
        Assert.Equal(dir.File("cache"), locations.CacheDir);
        Assert.Equal(["/mnt/models", "/srv/more-models"], locations.Mirrors);
        Assert.False(locations.AllowNetwork);
        services.GetRequiredService<IStartupValidator>().Validate(); // valid: no exception
    }

    [Fact]
    public void Unset_locations_keep_the_environments()
    {
        var options = new TransferModelOptions { ModelPath = "m.onnx" };
        var environment = OnnxTransfer.Backbones.BackboneLocations.FromEnvironment();
        var locations = options.ToBackboneLocations();
        Assert.Equal(environment.CacheDir, locations.CacheDir);
        Assert.Equal(environment.Mirrors, locations.Mirrors);
        Assert.Equal(ExecutionDevice.Cpu, options.ToExecutionDevice());
        Assert.Equal(0, options.ToSessionSettings().IntraOpThreads);
    }

    [Fact]
    public void Bad_options_fail_the_start_with_one_line_per_key()
    {
        using var dir = new TempDir();
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Models:Main:ModelPath"] = dir.File("missing.onnx"),
            ["Models:Main:Device"] = "tpu",
            ["Models:Main:Threads"] = "-1",
        }).Build();
        using var services = new ServiceCollection().AddTransferModel(configuration.GetSection("Models:Main")).BuildServiceProvider();

        var e = Assert.Throws<OptionsValidationException>(() => services.GetRequiredService<IStartupValidator>().Validate());
        Assert.Equal(3, e.Failures.Count());
        Assert.All(e.Failures, f => Assert.DoesNotContain('\n', f));
        Assert.Contains(e.Failures, f => f.StartsWith("Models:Main:ModelPath ", StringComparison.Ordinal) && f.Contains("missing.onnx: no such file")
                                         && f.Contains("Models__Main__ModelPath"));
        Assert.Contains(e.Failures, f => f.StartsWith("Models:Main:Device 'tpu' is not a device", StringComparison.Ordinal));
        Assert.Contains(e.Failures, f => f.StartsWith("Models:Main:Threads is -1", StringComparison.Ordinal));
    }

    [Fact]
    public void A_missing_model_path_says_which_setting_to_set()
    {
        using var services = new ServiceCollection().AddTransferModel(_ => { }).BuildServiceProvider();
        var e = Assert.Throws<OptionsValidationException>(() => services.GetRequiredService<IStartupValidator>().Validate());
        Assert.Equal(
            "TransferModel:ModelPath is not set; set TransferModel:ModelPath (environment: TransferModel__ModelPath) to a model exported by `onnxtransfer export`.",
            Assert.Single(e.Failures));
    }
}
