using OnnxTransfer.Onnx.Autodiff;

namespace OnnxTransfer.Training.Engine;

/// <summary>The output names every training graph shares (head graphs and fine-tuning graphs alike).</summary>
internal static class TrainingGraph
{
    /// <summary>Scalar loss output.</summary>
    public const string Loss = "loss";
    /// <summary>Logits output ([N, outputs]).</summary>
    public const string Logits = "logits";

    /// <summary>The output holding dLoss/d<paramref name="parameter"/> (the optimizer graphs read these names).</summary>
    public static string GradientName(string parameter) => GradientGraph.GradientName(parameter);
}
