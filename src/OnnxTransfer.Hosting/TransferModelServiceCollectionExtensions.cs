using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using OnnxTransfer.Hosting;
using OnnxTransfer.Inference;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers an OnnxTransfer model with a service collection.</summary>
public static class TransferModelServiceCollectionExtensions
{
    /// <summary>
    /// Registers <see cref="ITransferModel"/> as a singleton configured from <paramref name="configuration"/> (usually
    /// <c>builder.Configuration.GetSection("TransferModel")</c>; keys as in <see cref="TransferModelOptions"/>).
    /// </summary>
    /// <remarks>
    /// The options are validated when the host starts (a missing model file or an unknown device stops it with a
    /// one-line message naming the key). The model itself loads lazily, on first use (the first request or health
    /// check), so a host starts at once; a load that fails is logged, and tried again on the next use.
    /// Its log entries (load, device fallback, skipped files) use the category <c>OnnxTransfer.TransferModel</c>.
    /// </remarks>
    public static IServiceCollection AddTransferModel(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        services.AddOptions<TransferModelOptions>().Bind(configuration).ValidateOnStart();
        return AddModel(services, (configuration as IConfigurationSection)?.Path ?? TransferModelOptions.SectionName);
    }

    /// <summary>Registers <see cref="ITransferModel"/> as a singleton configured in code (see the other overload's remarks).</summary>
    public static IServiceCollection AddTransferModel(this IServiceCollection services, Action<TransferModelOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(configure);
        services.AddOptions<TransferModelOptions>().Configure(configure).ValidateOnStart();
        return AddModel(services, TransferModelOptions.SectionName);
    }

    private static IServiceCollection AddModel(IServiceCollection services, string section)
    {
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<TransferModelOptions>>(new TransferModelOptionsValidator(section)));
        // A factory singleton: created on first resolve, disposed with the container; a throwing factory is not cached.
        services.TryAddSingleton<ITransferModel>(TransferModelLoader.Load);
        return services;
    }
}
