using OnnxTransfer.Onnx;
using OnnxTransfer.Onnx.Autodiff;
using OnnxTransfer.Training.Engine;
using DataType = OnnxTransfer.Onnx.Proto.TensorProto.Types.DataType;

namespace OnnxTransfer.Training.Heads;

/// <summary>
/// Emits a head's graphs in standard ai.onnx ops (opset 17), run by a plain InferenceSession:
/// <list type="bullet">
/// <item>the training graph: inputs <c>features</c> [B,D], <c>labels</c> (int64 [B], or element-type
/// [B,C] targets for multi-label), <c>weights</c> [B], every parameter, and one <c>dropout_mask.i</c>
/// [B,H] per hidden block when the spec has dropout (the trainer draws the masks from its seeded
/// generator and feeds them, so nothing random is hidden from the seed); outputs <c>loss</c> (weighted
/// mean), <c>logits</c> and <c>grad.NAME</c> for each parameter. The backward pass is written out layer
/// by layer (see <c>Training/Gradients</c>).</item>
/// <item>the eval graph: <c>features</c> → <c>logits</c>, <c>probabilities</c> (binary heads give two
/// columns, [1−p, p]); parameters are graph inputs or, for an exported head, initializers.</item>
/// </list>
/// </summary>
internal static class HeadGraphBuilder
{
    /// <summary>Input: feature rows [B,D].</summary>
    public const string Features = "features";
    /// <summary>Input: labels (int64 [B]) or multi-label targets ([B,C]).</summary>
    public const string Labels = "labels";
    /// <summary>Input: per-sample weights [B].</summary>
    public const string Weights = "weights";
    /// <summary>Output: weighted mean loss (scalar).</summary>
    public const string Loss = TrainingGraph.Loss;
    /// <summary>Output: logits [B,outputs].</summary>
    public const string Logits = TrainingGraph.Logits;
    /// <summary>Eval output: class probabilities [B,C].</summary>
    public const string Probabilities = Export.ModelMetadata.ProbabilitiesOutput;

    /// <summary>Name of the gradient output for a parameter.</summary>
    public static string GradientName(string parameter) => TrainingGraph.GradientName(parameter);

    /// <summary>Name of the dropout mask input of hidden block <paramref name="block"/>.</summary>
    public static string DropoutMaskName(int block) => $"dropout_mask.{block}";

    /// <summary>Logit columns: 1 for a binary head, else the class count.</summary>
    public static int OutputCount(HeadTask task, int classes) => task == HeadTask.Binary ? 1 : classes;

    /// <summary>The head's parameters in graph order (weights then biases, layer by layer).</summary>
    public static IReadOnlyList<HeadParameter> Parameters(HeadSpec spec, HeadTask task, int inputDim, int classes) =>
        Layers(spec, task, inputDim, classes).SelectMany(l => l.Parameters).ToArray();

    /// <summary>The hidden widths that take a dropout mask ([] when the spec has no dropout).</summary>
    public static IReadOnlyList<int> DropoutWidths(HeadSpec spec) => spec.Dropout > 0 ? spec.Hidden : [];

    /// <summary>Builds the training graph (forward, loss, backward).</summary>
    public static OnnxModel BuildTraining(HeadSpec spec, HeadTask task, int inputDim, int classes,
        double labelSmoothing = 0, DataType elementType = DataType.Float)
    {
        Check(task, classes, inputDim, labelSmoothing);
        var model = OnnxModel.Create("head_train");
        var g = new GraphBuilder(model.Graph);
        var e = new OpEmitter(g, elementType);
        var layers = Layers(spec, task, inputDim, classes);
        var outputs = OutputCount(task, classes);

        var x = g.Input(Features, elementType, [null, inputDim], ["batch"]);
        var labels = task == HeadTask.MultiLabel
            ? g.Input(Labels, elementType, [null, classes], ["batch"])
            : g.Input(Labels, DataType.Int64, [null], ["batch"]);
        var weights = g.Input(Weights, elementType, [null], ["batch"]);
        foreach (var p in layers.SelectMany(l => l.Parameters))
            g.Input(p.Name, elementType, p.Dims.Select(d => (long?)d).ToArray());
        foreach (var (d, block) in layers.OfType<Dropout>().Select((d, i) => (d, i)))
            g.Input(d.MaskInput, elementType, [null, spec.Hidden[block]], ["batch"]);

        var h = x;
        foreach (var layer in layers) h = layer.Forward(e, h, training: true);
        var (loss, dLogits) = HeadLosses.Emit(e, task, h, labels, weights, classes, labelSmoothing);

        var grads = new Dictionary<string, string>(StringComparer.Ordinal);
        var dy = dLogits;
        for (var i = layers.Count - 1; i >= 0; i--)
            dy = layers[i].Backward(e, dy, needInputGradient: i > 0, grads)!;

        g.Alias(loss, Loss);
        g.Output(Loss, elementType, []);
        g.Alias(h, Logits);
        g.Output(Logits, elementType, [null, outputs], ["batch"]);
        foreach (var p in layers.SelectMany(l => l.Parameters))
        {
            g.Alias(grads[p.Name], GradientName(p.Name));
            g.Output(GradientName(p.Name), elementType, p.Dims.Select(d => (long?)d).ToArray());
        }
        return model;
    }

    /// <summary>
    /// Builds the eval graph. With <paramref name="parameters"/> the weights become initializers (a
    /// self-contained head); without, they are graph inputs (used during training).
    /// </summary>
    public static OnnxModel BuildEval(HeadSpec spec, HeadTask task, int inputDim, int classes,
        IReadOnlyDictionary<string, float[]>? parameters = null, DataType elementType = DataType.Float)
    {
        Check(task, classes, inputDim, 0);
        if (parameters is not null && elementType != DataType.Float)
            throw new ArgumentException("initializer parameters are float32; build a float32 eval graph.", nameof(elementType));
        var model = OnnxModel.Create("head_eval");
        var g = new GraphBuilder(model.Graph);
        var e = new OpEmitter(g, elementType);
        var layers = Layers(spec, task, inputDim, classes);

        var x = g.Input(Features, elementType, [null, inputDim], ["batch"]);
        foreach (var p in layers.SelectMany(l => l.Parameters))
        {
            if (parameters is null) { g.Input(p.Name, elementType, p.Dims.Select(d => (long?)d).ToArray()); continue; }
            if (!parameters.TryGetValue(p.Name, out var values) || values.Length != p.Count)
                throw new OnnxTransferException($"head parameters: '{p.Name}' is missing or not {p.Count} values; the checkpoint does not match spec '{spec}'.");
            g.ReserveName(p.Name);
            model.Graph.Initializer.Add(OnnxTensor.FromFloats(p.Name, values, p.Dims));
        }
        var h = x;
        foreach (var layer in layers) h = layer.Forward(e, h, training: false);
        var probabilities = task switch
        {
            HeadTask.MultiClass => e.Softmax(h),
            HeadTask.MultiLabel => e.Sigmoid(h),
            _ => TwoColumns(e, e.Sigmoid(h)),
        };
        g.Alias(h, Logits);
        g.Output(Logits, elementType, [null, OutputCount(task, classes)], ["batch"]);
        g.Alias(probabilities, Probabilities);
        g.Output(Probabilities, elementType, [null, task == HeadTask.Binary ? 2 : classes], ["batch"]);
        return model;
    }

    private static string TwoColumns(OpEmitter e, string p) =>
        e.Graph.Node("Concat", [e.Sub(e.Const(1), p), p], Onnx.OnnxAttribute.Int("axis", 1));

    private static void Check(HeadTask task, int classes, int inputDim, double labelSmoothing)
    {
        if (inputDim <= 0) throw new OnnxTransferException($"head: feature dimension {inputDim} must be positive.");
        if (task == HeadTask.Binary && classes != 2)
            throw new OnnxTransferException($"head: a binary head needs exactly 2 classes, got {classes}; use the multi-class task.");
        if (task == HeadTask.MultiClass && classes < 2)
            throw new OnnxTransferException($"head: {classes} class(es) found; training needs at least 2 labels.");
        if (task == HeadTask.MultiLabel && classes < 1)
            throw new OnnxTransferException("head: a multi-label head needs at least 1 label.");
        if (labelSmoothing is < 0 or >= 1 || double.IsNaN(labelSmoothing))
            throw new OnnxTransferException($"head: label smoothing {labelSmoothing} must be in [0, 1).");
    }

    private static List<HeadLayer> Layers(HeadSpec spec, HeadTask task, int inputDim, int classes)
    {
        var layers = new List<HeadLayer>();
        var width = inputDim;
        for (var i = 0; i < spec.Hidden.Count; i++)
        {
            layers.Add(new Linear($"dense{i}", width, spec.Hidden[i], ParameterInit.HeNormal));
            if (spec.LayerNorm) layers.Add(new LayerNorm($"norm{i}", spec.Hidden[i]));
            layers.Add(new ReLU());
            if (spec.Dropout > 0) layers.Add(new Dropout(DropoutMaskName(i)));
            width = spec.Hidden[i];
        }
        layers.Add(new Linear("output", width, OutputCount(task, classes), ParameterInit.XavierNormal));
        return layers;
    }
}
