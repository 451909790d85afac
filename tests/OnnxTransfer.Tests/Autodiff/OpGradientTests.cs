using OnnxTransfer.Onnx;
using OnnxTransfer.Onnx.Proto;
using OnnxTransfer.Tests.Training;
using static OnnxTransfer.Tests.Autodiff.GradientCheck;
using OnnxTransfer.Onnx.Autodiff;
using OnnxTransfer.Training.Heads;
using A = OnnxTransfer.Onnx.OnnxAttribute;
using DataType = OnnxTransfer.Onnx.Proto.TensorProto.Types.DataType;

namespace OnnxTransfer.Tests.Autodiff;

/// <summary>
/// Every gradient rule against central finite differences. Ops ONNX Runtime's CPU provider runs in float64
/// are checked in float64 (step 1e-5, relative tolerance 1e-6). Conv, ConvTranspose (used by the Conv and
/// AveragePool rules) and GlobalAveragePool only have float32 kernels; those ops are linear in each input, so
/// the check runs in float32 with a step of 1 (no truncation error) and relative tolerance 1e-4. HardSigmoid and
/// HardSwish also lack float64 kernels and are not linear: float32 with step 1e-3 and tolerance 5e-3.
/// </summary>
public class OpGradientTests
{
    private const double DoubleStep = 1e-5, DoubleTolerance = 1e-6, FloatStep = 1, FloatTolerance = 1e-4;

    private sealed record Case(DataType Type, Operand[] Operands, Func<GraphBuilder, string> Build, double Step, double Tolerance, long Opset = OnnxModel.DefaultOpset);

    private static Case D(Operand[] operands, Func<GraphBuilder, string> build) => new(DataType.Double, operands, build, DoubleStep, DoubleTolerance);
    private static Case F(Operand[] operands, Func<GraphBuilder, string> build) => new(DataType.Float, operands, build, FloatStep, FloatTolerance);
    private static Operand X(params long[] shape) => new("x", shape);
    private static Operand Y(params long[] shape) => new("y", shape);
    private static string Op(GraphBuilder g, string op, string[] inputs, params AttributeProto[] attributes) => g.Node(op, inputs, attributes);
    private static string Dbl(GraphBuilder g, string hint, params double[] v) => g.Initializer(OnnxTensor.FromDoubles(hint, v, v.Length == 1 ? [] : [v.Length]));

    private static readonly Dictionary<string, Case> Cases = new()
    {
        ["Identity"] = D([X(2, 3)], g => Op(g, "Identity", ["x"])),
        ["Dropout (inference)"] = D([X(2, 3)], g => Op(g, "Dropout", ["x", Dbl(g, "ratio", 0.3)])),
        ["Dropout training_mode=false"] = D([X(2, 3)], g => Op(g, "Dropout", ["x", Dbl(g, "ratio", 0.3), g.Initializer(Bool("mode", false))])),
        ["Add broadcast"] = D([X(2, 3, 4), Y(3, 1)], g => Op(g, "Add", ["x", "y"])),
        ["Sub broadcast"] = D([X(3, 1), Y(2, 3, 4)], g => Op(g, "Sub", ["x", "y"])),
        ["Mul broadcast"] = D([X(2, 1, 4), Y(3, 1)], g => Op(g, "Mul", ["x", "y"])),
        ["Div broadcast"] = D([X(2, 3, 4), new Operand("y", [4], Offset: 2)], g => Op(g, "Div", ["x", "y"])),
        ["Sum"] = D([X(2, 3), Y(3)], g => Op(g, "Sum", ["x", "y", "x"])),
        ["Neg"] = D([X(5)], g => Op(g, "Neg", ["x"])),
        ["Exp"] = D([X(5)], g => Op(g, "Exp", ["x"])),
        ["Log"] = D([new Operand("x", [5], Offset: 2)], g => Op(g, "Log", ["x"])),
        ["Sqrt"] = D([new Operand("x", [5], Offset: 2)], g => Op(g, "Sqrt", ["x"])),
        ["Abs"] = D([X(7)], g => Op(g, "Abs", ["x"])),
        ["Relu"] = D([X(3, 5)], g => Op(g, "Relu", ["x"])),
        ["LeakyRelu"] = D([X(3, 5)], g => Op(g, "LeakyRelu", ["x"], A.Float("alpha", 0.2f))),
        ["Sigmoid"] = D([X(3, 5)], g => Op(g, "Sigmoid", ["x"])),
        ["Tanh"] = D([X(3, 5)], g => Op(g, "Tanh", ["x"])),
        ["Clip (ReLU6 style)"] = D([new Operand("x", [4, 6], Spread: 8)], g => Op(g, "Clip", ["x", Dbl(g, "min", 0), Dbl(g, "max", 6)])),
        ["Clip max only"] = D([X(4, 6)], g => Op(g, "Clip", ["x", "", Dbl(g, "max", 0.3)])),
        ["HardSigmoid"] = F([new Operand("x", [4, 6], Spread: 4)], g => Op(g, "HardSigmoid", ["x"], A.Float("alpha", 0.3f), A.Float("beta", 0.4f))) with { Step = 1e-3, Tolerance = 5e-3 },
        ["HardSwish"] = F([new Operand("x", [4, 6], Spread: 5)], g => Op(g, "HardSwish", ["x"])) with { Step = 1e-3, Tolerance = 5e-3 },
        ["Pad constant"] = D([X(2, 3, 4)], g => Op(g, "Pad", ["x", g.Int64s("pads", 0, 1, 2, 0, 2, 0), Dbl(g, "value", 0.5)])),
        ["Pad axes (opset 18)"] = D([X(2, 3, 4)], g => Op(g, "Pad", ["x", g.Int64s("pads", 1, 1, 0, 3), "", g.Int64s("axes", -1, 0)])) with { Opset = 18 },
        ["Slice"] = D([X(4, 5, 6)], g => Op(g, "Slice", ["x", g.Int64s("starts", 1, -4), g.Int64s("ends", 3, 100), g.Int64s("axes", 0, 2)])),
        ["MatMul 2-D"] = D([X(3, 4), Y(4, 5)], g => Op(g, "MatMul", ["x", "y"])),
        ["MatMul batched"] = D([X(2, 3, 4), Y(4, 5)], g => Op(g, "MatMul", ["x", "y"])),
        ["MatMul broadcast batch"] = D([X(2, 1, 3, 4), Y(3, 4, 2)], g => Op(g, "MatMul", ["x", "y"])),
        ["MatMul vector"] = D([X(4), Y(2, 4, 3)], g => Op(g, "MatMul", ["x", "y"])),
        ["Gemm"] = D([X(3, 4), Y(4, 5), new Operand("c", [5])], g => Op(g, "Gemm", ["x", "y", "c"], A.Float("alpha", 0.7f), A.Float("beta", 1.3f))),
        ["Gemm transA"] = D([X(4, 3), Y(4, 5), new Operand("c", [3, 5])], g => Op(g, "Gemm", ["x", "y", "c"], A.Int("transA", 1), A.Float("alpha", 0.7f))),
        ["Gemm transB"] = D([X(3, 4), Y(5, 4), new Operand("c", [3, 1])], g => Op(g, "Gemm", ["x", "y", "c"], A.Int("transB", 1), A.Float("beta", 0.4f))),
        ["Gemm transA transB"] = D([X(4, 3), Y(5, 4)], g => Op(g, "Gemm", ["x", "y"], A.Int("transA", 1), A.Int("transB", 1), A.Float("alpha", 1.5f))),
        ["Flatten"] = D([X(2, 3, 2, 2)], g => Op(g, "Flatten", ["x"], A.Int("axis", 2))),
        ["Reshape"] = D([X(2, 3, 4)], g => Op(g, "Reshape", ["x", g.Int64s("shape", 4, -1)])),
        ["Transpose"] = D([X(2, 3, 4)], g => Op(g, "Transpose", ["x"], A.Ints("perm", 1, 2, 0))),
        ["Squeeze"] = D([X(2, 1, 4)], g => Op(g, "Squeeze", ["x", g.Int64s("axes", 1)])),
        ["Unsqueeze"] = D([X(2, 4)], g => Op(g, "Unsqueeze", ["x", g.Int64s("axes", 0, 3)])),
        ["Concat"] = D([X(2, 3, 2), Y(2, 1, 2), new Operand("z", [2, 2, 2])], g => Op(g, "Concat", ["x", "y", "z", "x"], A.Int("axis", 1))),
        ["Softmax last axis"] = D([X(3, 5)], g => Op(g, "Softmax", ["x"], A.Int("axis", -1))),
        ["Softmax axis 1 of 3"] = D([X(2, 4, 3)], g => Op(g, "Softmax", ["x"], A.Int("axis", 1))),
        ["LogSoftmax"] = D([X(3, 5)], g => Op(g, "LogSoftmax", ["x"], A.Int("axis", 1))),
        ["ReduceSum axes"] = D([X(2, 3, 4)], g => Op(g, "ReduceSum", ["x", g.Int64s("axes", 0, -1)], A.Int("keepdims", 0))),
        ["ReduceSum all"] = D([X(2, 3)], g => Op(g, "ReduceSum", ["x"])),
        ["ReduceMean"] = D([X(2, 3, 4)], g => Op(g, "ReduceMean", ["x"], A.Ints("axes", 1), A.Int("keepdims", 0))),
        ["BatchNormalization"] = D([X(2, 3, 4, 4), new Operand("scale", [3], Offset: 1), new Operand("bias", [3])],
            g => Op(g, "BatchNormalization", ["x", "scale", "bias", Dbl(g, "mean", 0.1, -0.2, 0.3), Dbl(g, "var", 0.5, 1.5, 2.0)], A.Float("epsilon", 1e-3f))),
        ["BatchNormalization 2-D"] = D([X(4, 3), new Operand("scale", [3], Offset: 1), new Operand("bias", [3])],
            g => Op(g, "BatchNormalization", ["x", "scale", "bias", Dbl(g, "mean", 0.1, -0.2, 0.3), Dbl(g, "var", 0.5, 1.5, 2.0)])),
        ["MaxPool overlapping, padded"] = D([X(2, 2, 5, 5)], g => Op(g, "MaxPool", ["x"], A.Ints("kernel_shape", 3, 3), A.Ints("strides", 2, 2), A.Ints("pads", 1, 1, 1, 1))),
        ["MaxPool 2x2"] = D([X(1, 3, 4, 6)], g => Op(g, "MaxPool", ["x"], A.Ints("kernel_shape", 2, 2), A.Ints("strides", 2, 2))),
        ["MaxPool dilated"] = D([X(1, 2, 7, 7)], g => Op(g, "MaxPool", ["x"], A.Ints("kernel_shape", 2, 2), A.Ints("dilations", 2, 2))),
        ["GlobalAveragePool"] = F([X(2, 3, 4, 5)], g => Op(g, "GlobalAveragePool", ["x"])),
        ["AveragePool padded, excluding pads"] = F([X(2, 2, 5, 5)], g => Op(g, "AveragePool", ["x"], A.Ints("kernel_shape", 3, 3), A.Ints("strides", 2, 2), A.Ints("pads", 1, 1, 1, 1))),
        ["AveragePool padded, including pads"] = F([X(2, 2, 6, 5)], g => Op(g, "AveragePool", ["x"], A.Ints("kernel_shape", 3, 2), A.Ints("strides", 2, 1), A.Ints("pads", 1, 0, 1, 1), A.Int("count_include_pad", 1))),
        ["Conv 3x3 pad 1"] = F([X(2, 3, 5, 5), new Operand("w", [4, 3, 3, 3]), new Operand("b", [4])],
            g => Op(g, "Conv", ["x", "w", "b"], A.Ints("kernel_shape", 3, 3), A.Ints("pads", 1, 1, 1, 1))),
        ["Conv stride 2 even input (output_padding)"] = F([X(2, 3, 6, 6), new Operand("w", [4, 3, 3, 3])],
            g => Op(g, "Conv", ["x", "w"], A.Ints("strides", 2, 2), A.Ints("pads", 1, 1, 1, 1))),
        ["Conv stride 2 no pad, rows left over"] = F([X(1, 2, 8, 7), new Operand("w", [3, 2, 3, 2])],
            g => Op(g, "Conv", ["x", "w"], A.Ints("strides", 2, 3))),
        ["Conv depthwise stride 2"] = F([X(2, 4, 7, 7), new Operand("w", [4, 1, 3, 3]), new Operand("b", [4])],
            g => Op(g, "Conv", ["x", "w", "b"], A.Int("group", 4), A.Ints("strides", 2, 2), A.Ints("pads", 1, 1, 1, 1))),
        ["Conv depthwise multiplier 2"] = F([X(2, 3, 5, 5), new Operand("w", [6, 1, 3, 3])],
            g => Op(g, "Conv", ["x", "w"], A.Int("group", 3), A.Ints("pads", 1, 1, 1, 1))),
        ["Conv groups 2 dilation 2 asymmetric pads"] = F([X(2, 4, 7, 6), new Operand("w", [6, 2, 2, 3]), new Operand("b", [6])],
            g => Op(g, "Conv", ["x", "w", "b"], A.Int("group", 2), A.Ints("dilations", 2, 2), A.Ints("pads", 0, 1, 2, 1))),
        ["Conv 1x1"] = F([X(2, 5, 3, 3), new Operand("w", [2, 5, 1, 1])], g => Op(g, "Conv", ["x", "w"])),
        ["Conv SAME_UPPER stride 2"] = F([X(1, 2, 5, 6), new Operand("w", [3, 2, 3, 3])],
            g => Op(g, "Conv", ["x", "w"], A.String("auto_pad", "SAME_UPPER"), A.Ints("strides", 2, 2), A.Ints("kernel_shape", 3, 3))),
        ["Conv stride 2 begin-only pads (ResNet-18's CNTK export)"] = F([X(2, 3, 6, 6), new Operand("w", [4, 3, 3, 3])],
            g => Op(g, "Conv", ["x", "w"], A.Ints("kernel_shape", 3, 3), A.Ints("strides", 2, 2), A.Ints("pads", 1, 1, 0, 0))),
        ["Conv 1x1 stride 2 (ResNet downsample)"] = F([X(2, 3, 6, 6), new Operand("w", [4, 3, 1, 1])],
            g => Op(g, "Conv", ["x", "w"], A.Ints("kernel_shape", 1, 1), A.Ints("strides", 2, 2), A.Ints("pads", 0, 0, 0, 0))),
        ["AveragePool 7x7 to 1x1 (ResNet's last pool)"] = F([X(2, 3, 7, 7)],
            g => Op(g, "AveragePool", ["x"], A.Ints("kernel_shape", 7, 7), A.Ints("strides", 1, 1), A.Ints("pads", 0, 0, 0, 0), A.Int("count_include_pad", 0))),
        ["ResNet basic blocks without ReLUs: identity skip, then stride-2 downsample"] = F(ResNetBlockOperands, ResNetBlocks),
        ["Conv 1-D"] = F([X(2, 3, 9), new Operand("w", [2, 3, 4])], g => Op(g, "Conv", ["x", "w"], A.Ints("strides", 2), A.Ints("pads", 1, 2))),
    };

    private static Operand[] ResNetBlockOperands =>
    [
        X(2, 4, 6, 6),
        new("w1", [4, 4, 3, 3], Spread: 0.3), new("s1", [4], Offset: 1, Spread: 0.2), new("b1", [4], Spread: 0.2),
        new("w2", [4, 4, 3, 3], Spread: 0.3), new("s2", [4], Offset: 1, Spread: 0.2), new("b2", [4], Spread: 0.2),
        new("w3", [6, 4, 3, 3], Spread: 0.3), new("w4", [6, 6, 3, 3], Spread: 0.3), new("wd", [6, 4, 1, 1], Spread: 0.3),
    ];

    /// <summary>
    /// Two basic blocks as ResNet-18's export has them (conv without bias → inference-mode BN → conv → BN, Add), the first
    /// with an identity skip (x is read by the conv and the Add, so its gradients sum), the second with a stride-2 3×3 conv
    /// padded at the start only and a 1×1 stride-2 downsample conv on the skip. The ReLUs are left out (their rule is
    /// checked above; the real network's blocks, ReLUs included, in ResNet18FineTuneTests): without them the loss is affine
    /// in each operand, so float32 differences with step 1 are exact up to rounding, whereas with them float32 rounding
    /// and kinks crossed by the step swamp differences of a single coordinate.
    /// </summary>
    private static string ResNetBlocks(GraphBuilder g)
    {
        var stats = 0;
        string Bn(string x, string scale, string bias, int channels)
        {
            stats++;
            var mean = g.Initializer($"mean{stats}", Enumerable.Range(0, channels).Select(i => 0.1f * (i - 1)).ToArray(), channels);
            var variance = g.Initializer($"var{stats}", Enumerable.Range(0, channels).Select(i => 0.5f + 0.25f * i).ToArray(), channels);
            return g.Node("BatchNormalization", [x, scale, bias, mean, variance], A.Float("epsilon", 1e-5f));
        }
        string Ones(int channels) => g.Initializer($"ones{channels}", Enumerable.Repeat(1f, channels).ToArray(), channels);
        string Zeros(int channels) => g.Initializer($"zeros{channels}", new float[channels], channels);
        var same = A.Ints("pads", 1, 1, 1, 1);
        var y = Bn(g.Node("Conv", ["x", "w1"], same), "s1", "b1", 4);
        y = Bn(g.Node("Conv", [y, "w2"], same), "s2", "b2", 4);
        var x = g.Node("Add", [y, "x"]);
        var z = Bn(g.Node("Conv", [x, "w3"], A.Ints("strides", 2, 2), A.Ints("pads", 1, 1, 0, 0)), Ones(6), Zeros(6), 6);
        z = Bn(g.Node("Conv", [z, "w4"], same), Ones(6), Zeros(6), 6);
        var skip = Bn(g.Node("Conv", [x, "wd"], A.Ints("strides", 2, 2)), Ones(6), Zeros(6), 6);
        return g.Node("Add", [z, skip]);
    }

    public static TheoryData<string> Names => new(Cases.Keys);

    private static TensorProto Bool(string name, bool value)
    {
        var t = OnnxTensor.FromBytes(name, [(byte)(value ? 1 : 0)]);
        t.DataType = (int)DataType.Bool;
        return t;
    }

    [Fact]
    public void Training_mode_dropout_is_refused()
    {
        var model = OnnxModel.Create("dropout");
        var g = new GraphBuilder(model.Graph);
        g.Input("x", DataType.Double, [2, 3]);
        var y = g.Node("Dropout", ["x", Dbl(g, "ratio", 0.3), g.Initializer(Bool("mode", true))]);
        g.Alias(g.Node("ReduceSum", [y], A.Int("keepdims", 0)), "loss");
        g.Output("loss", DataType.Double, []);
        Assert.Contains("training-mode Dropout", Assert.Throws<OnnxTransferException>(() => GraphGradientBuilder.Build(model, "loss", ["x"])).Message);
    }

    [Theory]
    [MemberData(nameof(Names))]
    public void Gradient_matches_central_finite_differences(string name)
    {
        var c = Cases[name];
        var checks = GradientCheck.Run(c.Type, c.Operands, c.Build, c.Step, c.Tolerance, opset: c.Opset);
        Assert.True(checks >= 3 * c.Operands.Length);
    }

    [Fact]
    public void Opset_18_reductions_take_axes_as_an_input()
    {
        var checks = GradientCheck.Run(DataType.Double, [X(2, 3, 4)],
            g => Op(g, "ReduceMean", ["x", g.Int64s("axes", 1)], A.Int("keepdims", 0)), DoubleStep, DoubleTolerance, opset: 18);
        Assert.True(checks >= 8);
    }

    [Fact]
    public void A_tensor_read_by_several_nodes_sums_its_gradients()
    {
        // x feeds Mul twice (x·x), Relu and Tanh; y = x·x + relu(x)·tanh(x).
        var checks = GradientCheck.Run(DataType.Double, [X(3, 4)], g =>
        {
            var square = g.Node("Mul", ["x", "x"]);
            return g.Node("Add", [square, g.Node("Mul", [g.Node("Relu", ["x"]), g.Node("Tanh", ["x"])])]);
        }, DoubleStep, DoubleTolerance);
        Assert.True(checks >= 8);
    }

    [Fact]
    public void Symbolic_batch_broadcast_reduces_to_the_parameter()
    {
        // x [N,3] + b [3] with N symbolic: the bias gradient sums over the batch at run time.
        var model = OnnxModel.Create("bias");
        var g = new GraphBuilder(model.Graph);
        g.Input("x", DataType.Double, [null, 3], ["N"]);
        model.Graph.Initializer.Add(OnnxTensor.FromDoubles("b", [0.1, 0.2, 0.3], 3));
        var y = g.Node("Mul", [g.Node("Add", ["x", "b"]), "x"]);
        g.Alias(g.Node("ReduceSum", [y], A.Int("keepdims", 0)), "loss");
        g.Output("loss", DataType.Double, []);
        var graph = GraphGradientBuilder.Build(model, "loss", ["b"]);
        using var runner = new GraphRunner(graph.Model);
        double[] x = [1, 2, 3, 4, 5, 6, -1, -2, -3, 0.5, 0.5, 0.5];
        var grad = runner.Run(new Dictionary<string, (double[], long[])> { ["x"] = (x, [4, 3]) })[GradientGraph.GradientName("b")];
        // d/db Σ (x + b)·x = Σ_batch x.
        double[] expected = [1 + 4 - 1 + 0.5, 2 + 5 - 2 + 0.5, 3 + 6 - 3 + 0.5];
        for (var i = 0; i < 3; i++) Assert.Equal(expected[i], grad[i], 12);
    }

    [Fact]
    public void MaxPool_ties_give_each_window_one_winner()
    {
        // All inputs equal: every window's gradient goes to exactly one element, so the mass is kept.
        var model = OnnxModel.Create("ties");
        var g = new GraphBuilder(model.Graph);
        g.Input("x", DataType.Double, [1, 1, 4, 4]);
        var y = g.Node("MaxPool", ["x"], A.Ints("kernel_shape", 2, 2), A.Ints("strides", 1, 1));
        g.Alias(g.Node("ReduceSum", [y], A.Int("keepdims", 0)), "loss");
        g.Output("loss", DataType.Double, []);
        using var runner = new GraphRunner(GraphGradientBuilder.Build(model, "loss", ["x"]).Model);
        var grad = runner.Run(new Dictionary<string, (double[], long[])> { ["x"] = (Enumerable.Repeat(0.5, 16).ToArray(), [1, 1, 4, 4]) })[GradientGraph.GradientName("x")];
        Assert.Equal(9, grad.Sum(), 12);
        Assert.All(grad, v => Assert.True(v == Math.Round(v) && v >= 0));
    }

    [Fact]
    public void An_op_without_a_rule_is_named_with_its_node()
    {
        var model = OnnxModel.Create("unsupported");
        var g = new GraphBuilder(model.Graph);
        g.Input("x", DataType.Float, [2, 2]);
        var y = g.Node("Erf", ["x"]);
        g.Alias(g.Node("ReduceSum", [y], A.Int("keepdims", 0)), "loss");
        g.Output("loss", DataType.Float, []);
        var e = Assert.Throws<OnnxTransferException>(() => GraphGradientBuilder.Build(model, "loss", ["x"]));
        Assert.Contains("Erf", e.Message);
        Assert.Contains(model.Graph.Node.Single(n => n.OpType == "Erf").Name, e.Message);
    }

    [Fact]
    public void Bad_names_are_refused()
    {
        var model = OnnxModel.Create("names");
        var g = new GraphBuilder(model.Graph);
        g.Input("x", DataType.Double, [2]);
        g.Alias(g.Node("ReduceSum", ["x"], A.Int("keepdims", 0)), "loss");
        g.Output("loss", DataType.Double, []);
        Assert.Contains("'nope'", Assert.Throws<OnnxTransferException>(() => GraphGradientBuilder.Build(model, "loss", ["nope"])).Message);
        Assert.Contains("'missing'", Assert.Throws<OnnxTransferException>(() => GraphGradientBuilder.Build(model, "missing", ["x"])).Message);
    }
}
