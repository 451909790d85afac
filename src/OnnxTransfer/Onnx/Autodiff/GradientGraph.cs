using OnnxTransfer.Onnx;

namespace OnnxTransfer.Onnx.Autodiff;

/// <summary>
/// A forward graph extended with its backward pass: besides the original outputs it has the loss and one
/// output <c>grad.NAME</c>  per parameter, the names
/// the optimizer graphs read.
/// </summary>
/// <param name="Model">The forward + backward model (ai.onnx opset 17).</param>
/// <param name="Loss">The loss tensor (a graph output).</param>
/// <param name="Parameters">The parameters differentiated, in the order given.</param>
internal sealed record GradientGraph(OnnxModel Model, string Loss, IReadOnlyList<string> Parameters)
{
    /// <summary>The output holding dLoss/d<paramref name="parameter"/>.</summary>
    public static string GradientName(string parameter) => "grad." + parameter;
}
