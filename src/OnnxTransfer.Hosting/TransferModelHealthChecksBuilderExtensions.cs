using Microsoft.Extensions.Diagnostics.HealthChecks;
using OnnxTransfer.Hosting;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Adds the model's health check.</summary>
public static class TransferModelHealthChecksBuilderExtensions
{
    /// <summary>
    /// Adds <see cref="TransferModelHealthCheck"/> (after <c>AddTransferModel</c>): Healthy when the model loads and a
    /// probe prediction works, <paramref name="failureStatus"/> (default Unhealthy) with the error otherwise.
    /// </summary>
    public static IHealthChecksBuilder AddTransferModelHealthCheck(this IHealthChecksBuilder builder, string name = "transfer-model",
        HealthStatus? failureStatus = null, IEnumerable<string>? tags = null) =>
        builder.AddCheck<TransferModelHealthCheck>(name, failureStatus, tags ?? []);
}
