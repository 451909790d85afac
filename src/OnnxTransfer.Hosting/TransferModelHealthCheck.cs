using System.Diagnostics;
using System.Globalization;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using OnnxTransfer.Inference;

namespace OnnxTransfer.Hosting;

/// <summary>
/// Healthy when the registered <see cref="ITransferModel"/> loads and labels a probe input (a plain grey image, or a
/// second of silence for a speech model) with finite probabilities; Unhealthy with the load or prediction error
/// otherwise. Resolving the model here loads it, so the first check also warms a lazily loaded model.
/// </summary>
public sealed class TransferModelHealthCheck(IServiceProvider services) : IHealthCheck
{
    /// <inheritdoc />
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        ITransferModel model;
        try { model = services.GetRequiredService<ITransferModel>(); }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            return new HealthCheckResult(context.Registration.FailureStatus, $"model not loaded: {OneLine(e.Message)}", e);
        }
        var clock = Stopwatch.StartNew();
        Prediction probe;
        try { probe = await model.PredictAsync(ProbeInput.For(model.InputKind), "health probe", cancellationToken).ConfigureAwait(false); }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            return new HealthCheckResult(context.Registration.FailureStatus, $"{model.Name}: the probe prediction failed: {OneLine(e.Message)}", e);
        }
        if (probe.Values.Any(v => !float.IsFinite(v)))
            return new HealthCheckResult(context.Registration.FailureStatus, $"{model.Name}: the probe prediction gave non-finite probabilities; the model or its device is broken.");
        var data = new Dictionary<string, object>
        {
            ["model"] = model.Name,
            ["provider"] = model.Provider,
            ["labels"] = model.Labels.Count,
            ["probeMilliseconds"] = Math.Round(clock.Elapsed.TotalMilliseconds, 1),
        };
        var score = probe.Score.ToString("0.000", CultureInfo.InvariantCulture);
        return HealthCheckResult.Healthy($"{model.Name} on {model.Provider}: the probe was labelled {probe.Label} ({score})", data);
    }

    private static string OneLine(string message) => message.ReplaceLineEndings(" ").Trim();
}
