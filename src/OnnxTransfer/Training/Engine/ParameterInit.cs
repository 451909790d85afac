
namespace OnnxTransfer.Training.Engine;

/// <summary>How a parameter tensor is initialised from the seed.</summary>
internal enum ParameterInit
{
    /// <summary>All zeros (biases, LayerNorm shift).</summary>
    Zeros,
    /// <summary>All ones (LayerNorm weight).</summary>
    Ones,
    /// <summary>He/Kaiming normal, std sqrt(2 / fan_in): layers followed by ReLU.</summary>
    HeNormal,
    /// <summary>Xavier/Glorot normal, std sqrt(2 / (fan_in + fan_out)): the output layer.</summary>
    XavierNormal,
}
