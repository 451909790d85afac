using OnnxTransfer.Imaging;
using OnnxTransfer.Onnx;
using DataType = OnnxTransfer.Onnx.Proto.TensorProto.Types.DataType;

namespace OnnxTransfer.Export;

/// <summary>
/// An ONNX graph doing a backbone's pixel normalisation, so an exported model can take raw uint8 RGB images
/// (HWC, already resized and cropped) and edge apps need no float code. Input <see cref="InputName"/>
/// uint8 [N,H,W,3]; output <see cref="OutputName"/> float32 in the spec's layout and channel order.
/// </summary>
internal static class PreprocessingGraph
{
    /// <summary>Name of the uint8 image input.</summary>
    public const string InputName = "image";

    /// <summary>Name of the normalised float output.</summary>
    public const string OutputName = "pixel_values";

    /// <summary>Builds the graph for <paramref name="spec"/>.</summary>
    public static OnnxModel Build(ImagePreprocessing spec)
    {
        var model = OnnxModel.Create("preprocessing");
        var g = new GraphBuilder(model.Graph);
        var image = g.Input(InputName, DataType.Uint8, [null, spec.Height, spec.Width, 3], ["batch"]);
        var x = g.Node("Cast", [image], OnnxAttribute.Int("to", (long)DataType.Float));
        if (spec.Bgr)
            x = g.Node("Gather", [x, g.Int64s("bgr_order", 2, 1, 0)], OnnxAttribute.Int("axis", 3));
        // (p*scale - mean)/std == p*(scale/std) + (-mean/std), per channel in the order fed to the network.
        var gain = new float[3];
        var offset = new float[3];
        for (var c = 0; c < 3; c++)
        {
            gain[c] = spec.Scale / spec.Std[c];
            offset[c] = -spec.Mean[c] / spec.Std[c];
        }
        x = g.Node("Mul", [x, g.Initializer("channel_gain", gain, 1, 1, 1, 3)]);
        x = g.Node("Add", [x, g.Initializer("channel_offset", offset, 1, 1, 1, 3)]);
        if (spec.Layout == TensorLayout.Nchw)
            x = g.Node("Transpose", [x], OnnxAttribute.Ints("perm", 0, 3, 1, 2));
        g.Alias(x, OutputName);
        long?[] dims = spec.Layout == TensorLayout.Nchw ? [null, 3, spec.Height, spec.Width] : [null, spec.Height, spec.Width, 3];
        g.Output(OutputName, DataType.Float, dims, ["batch"]);
        return model;
    }
}
