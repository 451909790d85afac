using System.Text.Json.Serialization;
using OnnxTransfer.Training.Heads;

namespace OnnxTransfer.WakeWords;

/// <summary>Generated JSON metadata (trim- and AOT-safe) for synth.json, the evaluation report.json and the metrics and calibration in wake-word models.</summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower)]
[JsonSerializable(typeof(SynthesisManifest))]
[JsonSerializable(typeof(WakeWordReportFile))]
[JsonSerializable(typeof(ThresholdCalibration))]
[JsonSerializable(typeof(HeadMetrics))]
internal sealed partial class WakeWordsJson : JsonSerializerContext;
