// OnnxTransfer web API: POST an image (or, for a speech model, a WAV file) to /predict and get {label, score, scores};
// GET /health loads the model and labels a probe input. The model comes from configuration: appsettings.json's
// "TransferModel" section or environment variables such as TransferModel__ModelPath (see README.md).
using System.Text.Json;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;
using OnnxTransfer;
using OnnxTransfer.Audio;
using OnnxTransfer.Imaging;
using OnnxTransfer.Inference;

var builder = WebApplication.CreateBuilder(args);
builder.Services.AddTransferModel(builder.Configuration.GetSection("TransferModel"));
builder.Services.AddHealthChecks().AddTransferModelHealthCheck();

var app = builder.Build();
app.MapPost("/predict", Predict);
app.MapHealthChecks("/health", new HealthCheckOptions { ResponseWriter = WriteHealth });
try
{
    app.Run();
    return 0;
}
catch (OptionsValidationException e)
{
    // Settings are checked at start: say which key is wrong, once per problem, and stop.
    foreach (var failure in e.Failures) Console.Error.WriteLine($"error: {failure}");
    return 1;
}

// The body is the file itself (any content type) or a multipart form whose file field is "file" (or its first file).
static async Task<IResult> Predict(HttpRequest request, IServiceProvider services, CancellationToken ct)
{
    var (bytes, name) = await ReadUpload(request, ct);
    if (bytes.Length == 0)
        return Error(StatusCodes.Status400BadRequest, $"{name}: empty; POST an image or WAV file as the body or as a multipart form file named 'file'.");
    ITransferModel model;
    try { model = services.GetRequiredService<ITransferModel>(); }
    catch (Exception e) when (e is OnnxTransferException or OptionsValidationException)
    {
        return Error(StatusCodes.Status503ServiceUnavailable, $"the model is not loaded: {e.Message}");
    }
    try
    {
        var p = await model.PredictAsync(bytes, name, ct);
        return Results.Ok(new PredictResponse(p.Label, p.Score, p.Probabilities));
    }
    catch (Exception e) when (e is ImageDecodeException or AudioFormatException)
    {
        return Error(StatusCodes.Status400BadRequest, e.Message);
    }
}

static async Task<(byte[] Bytes, string Name)> ReadUpload(HttpRequest request, CancellationToken ct)
{
    using var buffer = new MemoryStream();
    if (!request.HasFormContentType)
    {
        await request.Body.CopyToAsync(buffer, ct);
        return (buffer.ToArray(), "request body");
    }
    var form = await request.ReadFormAsync(ct);
    var file = form.Files.GetFile("file") ?? form.Files.FirstOrDefault();
    if (file is null) return ([], "form");
    await using (var stream = file.OpenReadStream()) await stream.CopyToAsync(buffer, ct);
    return (buffer.ToArray(), Path.GetFileName(file.FileName));
}

static IResult Error(int status, string message) =>
    Results.Json(new { error = message.ReplaceLineEndings(" ").Trim() }, statusCode: status);

static Task WriteHealth(HttpContext context, HealthReport report) =>
    context.Response.WriteAsJsonAsync(new
    {
        status = report.Status.ToString(),
        checks = report.Entries.Select(e => new { name = e.Key, status = e.Value.Status.ToString(), description = e.Value.Description }),
    }, new JsonSerializerOptions(JsonSerializerDefaults.Web));

/// <summary>The answer of POST /predict: the likeliest label, its probability, and every label's probability.</summary>
internal sealed record PredictResponse(string Label, float Score, IReadOnlyDictionary<string, float> Scores);
