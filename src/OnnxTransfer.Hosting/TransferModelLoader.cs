using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using OnnxTransfer.Backbones;
using OnnxTransfer.Inference;

namespace OnnxTransfer.Hosting;

/// <summary>Loads the <see cref="TransferModel"/> that <see cref="TransferModelServiceCollectionExtensions.AddTransferModel(IServiceCollection, Action{TransferModelOptions})"/> registers.</summary>
internal static class TransferModelLoader
{
    /// <summary>Category of the model's log entries (load, device fallback, skipped files).</summary>
    public const string LogCategory = "OnnxTransfer.TransferModel";

    /// <summary>Loads the model the options name; a failure is logged as an error and thrown.</summary>
    /// <exception cref="OptionsValidationException">Invalid options (one line per problem).</exception>
    /// <exception cref="OnnxTransferException">The model cannot be loaded (the message names the file and the fix).</exception>
    public static TransferModel Load(IServiceProvider services)
    {
        var options = services.GetRequiredService<IOptions<TransferModelOptions>>().Value;
        var logger = services.GetService<ILoggerFactory>()?.CreateLogger(LogCategory) ?? NullLogger.Instance;
        try
        {
            var registry = new BackboneRegistry(BackboneRegistry.BuiltInManifests, options.ToBackboneLocations());
            return TransferModel.Load(Path.GetFullPath(options.ModelPath), options.ToExecutionDevice(), options.ToSessionSettings(), registry.SpeechFrontEnd, logger);
        }
        catch (OnnxTransferException e)
        {
            logger.LogError(e, "Could not load the model: {Error}", e.Message);
            throw;
        }
    }
}
