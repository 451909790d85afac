using System.Text.Json.Serialization;

namespace OnnxTransfer.Training.Engine;

/// <summary>What early stopping and best-parameter restore watch on the validation set.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<ValidationMetric>))]
public enum ValidationMetric
{
    /// <summary>Validation loss (lower is better); smoother than accuracy on small sets.</summary>
    Loss,
    /// <summary>Validation accuracy (higher is better; ties go to the lower loss).</summary>
    Accuracy,
}
