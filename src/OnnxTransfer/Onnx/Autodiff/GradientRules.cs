using OnnxTransfer.Onnx;
using DataType = OnnxTransfer.Onnx.Proto.TensorProto.Types.DataType;

namespace OnnxTransfer.Onnx.Autodiff;

/// <summary>
/// One backward rule per ONNX op (opset 17 semantics): given dL/dy for the node's outputs, record dL/dx for
/// each input that needs one. Elementwise, matrix, shape and softmax rules live here; convolution, pooling
/// and batch normalization in the other part of this class.
/// </summary>
internal static partial class GradientRules
{
    /// <summary>Op type → rule.</summary>
    public static readonly IReadOnlyDictionary<string, Action<GradientContext>> Table = new Dictionary<string, Action<GradientContext>>(StringComparer.Ordinal)
    {
        ["Identity"] = PassThrough,
        ["Dropout"] = Dropout,
        ["Add"] = Add,
        ["Sub"] = Sub,
        ["Mul"] = Mul,
        ["Div"] = Div,
        ["Sum"] = Sum,
        ["Neg"] = c => Unary(c, gy => c.E.Neg(gy)),
        ["Exp"] = c => Unary(c, gy => c.E.Mul(gy, c.Output(0))),
        ["Log"] = c => Unary(c, gy => c.E.Div(gy, c.Input(0))),
        ["Sqrt"] = c => Unary(c, gy => c.E.Div(c.E.Mul(gy, c.E.Const(0.5)), c.Output(0))),
        ["Abs"] = c => Unary(c, gy => c.E.Mul(gy, c.G.Node("Sign", [c.Input(0)]))),
        ["Relu"] = c => Unary(c, gy => c.E.Mul(gy, c.E.PositiveMask(c.Input(0)))),
        ["LeakyRelu"] = LeakyRelu,
        ["Sigmoid"] = c => Unary(c, gy => c.E.Mul(gy, c.E.Mul(c.Output(0), c.E.Sub(c.E.Const(1), c.Output(0))))),
        ["Tanh"] = c => Unary(c, gy => c.E.Mul(gy, c.E.Sub(c.E.Const(1), c.E.Mul(c.Output(0), c.Output(0))))),
        ["Clip"] = Clip,
        ["HardSigmoid"] = HardSigmoid,
        ["HardSwish"] = HardSwish,
        ["Pad"] = Pad,
        ["Slice"] = Slice,
        ["Cast"] = Cast,
        ["MatMul"] = MatMul,
        ["Gemm"] = Gemm,
        ["Flatten"] = ReshapeBack,
        ["Reshape"] = ReshapeBack,
        ["Squeeze"] = ReshapeBack,
        ["Unsqueeze"] = ReshapeBack,
        ["Transpose"] = Transpose,
        ["Concat"] = Concat,
        ["Softmax"] = Softmax,
        ["LogSoftmax"] = LogSoftmax,
        ["ReduceSum"] = ReduceSum,
        ["ReduceMean"] = ReduceMean,
        ["Conv"] = Conv,
        ["BatchNormalization"] = BatchNormalization,
        ["GlobalAveragePool"] = GlobalAveragePool,
        ["AveragePool"] = AveragePool,
        ["MaxPool"] = MaxPool,
    };

    private static void PassThrough(GradientContext c)
    {
        if (c.OutputGradient() is { } gy) c.Add(0, gy);
    }

    private static void Unary(GradientContext c, Func<string, string> rule)
    {
        if (c.OutputGradient() is { } gy && c.Needs(0)) c.Add(0, rule(gy));
    }

    /// <summary>Inference dropout is the identity; a training-mode dropout draws a hidden random mask and is refused.</summary>
    private static void Dropout(GradientContext c)
    {
        var mode = c.Input(2);
        if (mode.Length > 0 && (c.Constant(mode) is not { } t || t.RawData.Any(b => b != 0) || t.Int32Data.Any(v => v != 0)))
            throw c.Unsupported("training-mode Dropout draws its mask inside the graph; use an explicit mask input (Mul) instead");
        PassThrough(c);
    }

    private static void Add(GradientContext c)
    {
        if (c.OutputGradient() is not { } gy) return;
        var shape = c.Shape(c.Output(0));
        if (c.Needs(0)) c.Add(0, c.ReduceTo(gy, shape, c.Input(0)));
        if (c.Needs(1)) c.Add(1, c.ReduceTo(gy, shape, c.Input(1)));
    }

    private static void Sub(GradientContext c)
    {
        if (c.OutputGradient() is not { } gy) return;
        var shape = c.Shape(c.Output(0));
        if (c.Needs(0)) c.Add(0, c.ReduceTo(gy, shape, c.Input(0)));
        if (c.Needs(1)) c.Add(1, c.ReduceTo(c.E.Neg(gy), shape, c.Input(1)));
    }

    private static void Mul(GradientContext c)
    {
        if (c.OutputGradient() is not { } gy) return;
        var shape = c.Shape(c.Output(0));
        if (c.Needs(0)) c.Add(0, c.ReduceTo(c.E.Mul(gy, c.Input(1)), shape, c.Input(0)));
        if (c.Needs(1)) c.Add(1, c.ReduceTo(c.E.Mul(gy, c.Input(0)), shape, c.Input(1)));
    }

    /// <summary>y = a/b: da = dy/b, db = −dy·y/b.</summary>
    private static void Div(GradientContext c)
    {
        if (c.OutputGradient() is not { } gy) return;
        var shape = c.Shape(c.Output(0));
        if (c.Needs(0)) c.Add(0, c.ReduceTo(c.E.Div(gy, c.Input(1)), shape, c.Input(0)));
        if (c.Needs(1)) c.Add(1, c.ReduceTo(c.E.Neg(c.E.Div(c.E.Mul(gy, c.Output(0)), c.Input(1))), shape, c.Input(1)));
    }

    private static void Sum(GradientContext c)
    {
        if (c.OutputGradient() is not { } gy) return;
        var shape = c.Shape(c.Output(0));
        for (var i = 0; i < c.Node.Input.Count; i++)
            if (c.Needs(i)) c.Add(i, c.ReduceTo(gy, shape, c.Input(i)));
    }

    private static void LeakyRelu(GradientContext c)
    {
        var alpha = OnnxAttribute.GetFloat(c.Node, "alpha", 0.01f);
        Unary(c, gy => c.G.Node("Where", [c.G.Node("Greater", [c.Input(0), c.E.Const(0)]), gy, c.E.Mul(gy, c.E.Const(alpha))]));
    }

    /// <summary>Clip (ReLU6 and friends): the gradient passes where min &lt; x &lt; max, strictly (as PyTorch's hardtanh).</summary>
    private static void Clip(GradientContext c)
    {
        c.RequireFrozen(1, "the lower bound");
        c.RequireFrozen(2, "the upper bound");
        Unary(c, gy =>
        {
            string? mask = null;
            if (c.Input(1).Length > 0) mask = c.G.Node("Greater", [c.Input(0), c.Input(1)]);
            if (c.Input(2).Length > 0)
            {
                var below = c.G.Node("Less", [c.Input(0), c.Input(2)]);
                mask = mask is null ? below : c.G.Node("And", [mask, below]);
            }
            return mask is null ? gy : c.E.Mul(gy, c.Mask(mask));
        });
    }

    /// <summary>y = max(0, min(1, αx + β)): dx = α·dy where 0 &lt; αx + β &lt; 1.</summary>
    private static void HardSigmoid(GradientContext c)
    {
        var alpha = OnnxAttribute.GetFloat(c.Node, "alpha", 0.2f);
        var beta = OnnxAttribute.GetFloat(c.Node, "beta", 0.5f);
        Unary(c, gy =>
        {
            var z = c.E.Add(c.E.Mul(c.Input(0), c.E.Const(alpha)), c.E.Const(beta));
            var inside = c.G.Node("And", [c.G.Node("Greater", [z, c.E.Const(0)]), c.G.Node("Less", [z, c.E.Const(1)])]);
            return c.E.Mul(gy, c.E.Mul(c.Mask(inside), c.E.Const(alpha)));
        });
    }

    /// <summary>y = x·hardsigmoid(x) (α = 1/6, β = 1/2): dy/dx = 0 below −3, (2x + 3)/6 between, 1 above 3.</summary>
    private static void HardSwish(GradientContext c) => Unary(c, gy =>
    {
        var x = c.Input(0);
        var middle = c.E.Div(c.E.Add(c.E.Mul(x, c.E.Const(2)), c.E.Const(3)), c.E.Const(6));
        var slope = c.G.Node("Where", [c.G.Node("Less", [x, c.E.Const(-3)]), c.E.Const(0),
            c.G.Node("Where", [c.G.Node("Greater", [x, c.E.Const(3)]), c.E.Const(1), middle])]);
        return c.E.Mul(gy, slope);
    });

    /// <summary>Constant-mode Pad: the gradient is dy with the padding sliced off (pads read from a constant).</summary>
    private static void Pad(GradientContext c)
    {
        if (OnnxAttribute.GetString(c.Node, "mode", "constant") != "constant") throw c.Unsupported("only constant-mode padding is supported");
        c.RequireFrozen(2, "the pad value");
        var x = c.Input(0);
        var rank = c.Rank(x);
        var pads = c.Constant(c.Input(1)) is { } p ? OnnxTensor.ToInt64s(p) : throw c.Unsupported("its pads are computed, not a constant");
        var axes = c.Input(3).Length == 0 ? Range(0, rank)
            : c.Constant(c.Input(3)) is { } a ? OnnxTensor.ToInt64s(a).Select(v => v < 0 ? v + rank : v).ToArray() : throw c.Unsupported("its axes are computed");
        if (pads.Any(v => v < 0)) throw c.Unsupported("negative pads (cropping)");
        var n = axes.Length;
        // Slice end −pad keeps everything but the trailing padding; a zero end pad means "to the end" (int64 max).
        var ends = Enumerable.Range(0, n).Select(i => pads[n + i] == 0 ? long.MaxValue : -pads[n + i]).ToArray();
        Unary(c, gy => c.G.Node("Slice", [gy, c.G.Int64s("starts", pads.Take(n).ToArray()), c.G.Int64s("ends", ends), c.G.Int64s("axes", axes)]));
    }

    /// <summary>Slice with unit steps: dx is dy padded with zeros back to x's shape (bounds clamped as Slice does).</summary>
    private static void Slice(GradientContext c)
    {
        var x = c.Input(0);
        var rank = c.Rank(x);
        long[] Read(int index, string what) => c.Constant(c.Input(index)) is { } t ? OnnxTensor.ToInt64s(t) : throw c.Unsupported($"its {what} are computed, not constants");
        var starts = Read(1, "starts");
        var ends = Read(2, "ends");
        var axes = c.Input(3).Length > 0 ? Read(3, "axes") : Range(0, starts.Length);
        if (c.Input(4).Length > 0 && Read(4, "steps").Any(s => s != 1)) throw c.Unsupported("steps other than 1");
        var pads = new long[2 * rank];
        for (var i = 0; i < axes.Length; i++)
        {
            var axis = (int)(axes[i] < 0 ? axes[i] + rank : axes[i]);
            var dim = c.Fixed(x, axis);
            long Clamp(long v) => Math.Clamp(v < 0 ? v + dim : v, 0, dim);
            var begin = Clamp(starts[i]);
            var end = Math.Max(begin, Clamp(ends[i]));
            pads[axis] = begin;
            pads[rank + axis] = dim - end;
        }
        Unary(c, gy => c.G.Node("Pad", [gy, c.G.Int64s("pads", pads)]));
    }

    private static void Cast(GradientContext c)
    {
        var from = c.Info(c.Input(0)).ElementType;
        if (from is not (DataType.Float or DataType.Double or DataType.Float16)) return;
        Unary(c, gy => c.G.Node("Cast", [gy], OnnxAttribute.Int("to", (long)from)));
    }

    /// <summary>
    /// Y = A·B (numpy matmul, batched): dA = dY·Bᵀ, dB = Aᵀ·dY over the last two axes, summed over broadcast
    /// batch axes. 1-D operands are promoted as numpy does (a row for A, a column for B) and reshaped back.
    /// </summary>
    private static void MatMul(GradientContext c)
    {
        if (c.OutputGradient() is not { } gy) return;
        var (a, b) = (c.Input(0), c.Input(1));
        var sa = c.Shape(a).ToList();
        var sb = c.Shape(b).ToList();
        var aVector = sa.Count == 1;
        var bVector = sb.Count == 1;
        if (aVector && bVector) throw c.Unsupported("a vector·vector MatMul (write it as Mul and ReduceSum)");
        if (aVector) { a = c.Unsqueeze(a, 0); sa.Insert(0, TensorDim.Fixed(1)); gy = c.Unsqueeze(gy, -2); }
        if (bVector) { b = c.Unsqueeze(b, 1); sb.Add(TensorDim.Fixed(1)); gy = c.Unsqueeze(gy, -1); }
        var batch = GradientContext.Broadcast(sa.Take(sa.Count - 2).ToList(), sb.Take(sb.Count - 2).ToList());
        if (c.Needs(0))
        {
            var ga = c.E.MatMul(gy, SwapLast(c, b, sb.Count));
            var gaShape = batch.Concat([sa[^2], sa[^1]]).ToList();
            ga = ReduceToRank(c, ga, gaShape, sa, c.Input(0));
            c.Add(0, ga);
        }
        if (c.Needs(1))
        {
            var gb = c.E.MatMul(SwapLast(c, a, sa.Count), gy);
            var gbShape = batch.Concat([sb[^2], sb[^1]]).ToList();
            gb = ReduceToRank(c, gb, gbShape, sb, c.Input(1));
            c.Add(1, gb);
        }
    }

    private static string ReduceToRank(GradientContext c, string grad, List<TensorDim> gradShape, List<TensorDim> promoted, string original)
    {
        var lead = gradShape.Count - promoted.Count;
        var axes = new List<long>();
        for (var i = 0; i < gradShape.Count - 2; i++)
            if (i < lead || (promoted[i - lead].Value == 1 && gradShape[i].Value != 1)) axes.Add(i);
        if (axes.Count > 0) grad = c.ReduceSum(grad, keepDims: true, axes.ToArray());
        return axes.Count > 0 || promoted.Count != c.Rank(original) ? c.ReshapeLike(grad, original) : grad;
    }

    private static string SwapLast(GradientContext c, string x, int rank)
    {
        var perm = Enumerable.Range(0, rank).Select(i => (long)i).ToArray();
        (perm[^1], perm[^2]) = (perm[^2], perm[^1]);
        return c.Transpose(x, perm);
    }

    /// <summary>
    /// Y = α·A'·B' + β·C with A' = transA ? Aᵀ : A (same for B). dA' = α·dY·B'ᵀ, dB' = α·A'ᵀ·dY, dC = β·dY summed to
    /// C's shape; each is emitted as one Gemm with the transposes folded into its flags.
    /// </summary>
    private static void Gemm(GradientContext c)
    {
        if (c.OutputGradient() is not { } gy) return;
        var alpha = OnnxAttribute.GetFloat(c.Node, "alpha", 1f);
        var beta = OnnxAttribute.GetFloat(c.Node, "beta", 1f);
        var transA = OnnxAttribute.GetInt(c.Node, "transA", 0) != 0;
        var transB = OnnxAttribute.GetInt(c.Node, "transB", 0) != 0;
        var (a, b) = (c.Input(0), c.Input(1));
        string Gemm(string x, string y, bool tx, bool ty) => c.G.Node("Gemm", [x, y],
            OnnxAttribute.Float("alpha", alpha), OnnxAttribute.Int("transA", tx ? 1 : 0), OnnxAttribute.Int("transB", ty ? 1 : 0));
        if (c.Needs(0))
            c.Add(0, transA ? Gemm(b, gy, transB, true) : Gemm(gy, b, false, !transB));
        if (c.Needs(1))
            c.Add(1, transB ? Gemm(gy, a, true, transA) : Gemm(a, gy, !transA, false));
        if (c.Needs(2))
        {
            var gc = beta == 1f ? gy : c.E.Mul(gy, c.E.Const(beta));
            c.Add(2, c.ReduceTo(gc, c.Shape(c.Output(0)), c.Input(2)));
        }
    }

    /// <summary>Flatten, Reshape, Squeeze, Unsqueeze only move elements: the gradient is reshaped back.</summary>
    private static void ReshapeBack(GradientContext c) => Unary(c, gy => c.ReshapeLike(gy, c.Input(0)));

    private static void Transpose(GradientContext c)
    {
        var rank = c.Rank(c.Input(0));
        var perm = OnnxAttribute.GetInts(c.Node, "perm", Enumerable.Range(0, rank).Reverse().Select(i => (long)i).ToArray());
        var inverse = new long[rank];
        for (var i = 0; i < rank; i++) inverse[perm[i]] = i;
        Unary(c, gy => c.Transpose(gy, inverse));
    }

    /// <summary>Splits dY along the concat axis into pieces the sizes of the inputs (read at run time, so a batch axis works).</summary>
    private static void Concat(GradientContext c)
    {
        if (c.OutputGradient() is not { } gy) return;
        var rank = c.Rank(c.Output(0));
        var axis = OnnxAttribute.GetInt(c.Node, "axis", 0);
        if (axis < 0) axis += rank;
        var sizes = c.Node.Input.Select(x => c.G.Node("Shape", [x], OnnxAttribute.Int("start", axis), OnnxAttribute.Int("end", axis + 1))).ToList();
        var split = sizes.Count == 1 ? sizes[0] : c.G.Node("Concat", sizes, OnnxAttribute.Int("axis", 0));
        var parts = c.G.Node("Split", [gy, split], c.Node.Input.Count, "", OnnxAttribute.Int("axis", axis));
        for (var i = 0; i < parts.Length; i++) c.Add(i, parts[i]);
    }

    /// <summary>y = softmax(x): dx = y·(dy − Σ dy·y) along the axis.</summary>
    private static void Softmax(GradientContext c)
    {
        var axis = OnnxAttribute.GetInt(c.Node, "axis", -1);
        Unary(c, gy =>
        {
            var y = c.Output(0);
            return c.E.Mul(y, c.E.Sub(gy, c.ReduceSum(c.E.Mul(gy, y), true, axis)));
        });
    }

    /// <summary>y = log softmax(x): dx = dy − exp(y)·Σ dy along the axis.</summary>
    private static void LogSoftmax(GradientContext c)
    {
        var axis = OnnxAttribute.GetInt(c.Node, "axis", -1);
        Unary(c, gy => c.E.Sub(gy, c.E.Mul(c.E.Exp(c.Output(0)), c.ReduceSum(gy, true, axis))));
    }

    /// <summary>Expands dY (with the reduced axes restored) back over the input's shape.</summary>
    private static void ReduceSum(GradientContext c)
    {
        long[]? axes = null;
        if (c.Input(1).Length > 0)
            axes = c.Constant(c.Input(1)) is { } t ? OnnxTensor.ToInt64s(t) : throw c.Unsupported("its axes are computed, not a constant");
        Unary(c, gy => ExpandBack(c, gy, axes, OnnxAttribute.GetInt(c.Node, "noop_with_empty_axes", 0) != 0));
    }

    /// <summary>As ReduceSum, divided by the number of elements averaged (|x| / |y|, read at run time).</summary>
    private static void ReduceMean(GradientContext c)
    {
        // Axes are an attribute up to opset 17 and an input from 18.
        var axes = OnnxAttribute.Find(c.Node, "axes") is { } a ? a.Ints.ToArray()
            : c.Input(1).Length == 0 ? null
            : c.Constant(c.Input(1)) is { } t ? OnnxTensor.ToInt64s(t) : throw c.Unsupported("its axes are computed, not a constant");
        Unary(c, gy =>
        {
            var expanded = ExpandBack(c, gy, axes, noopWhenEmpty: false);
            var count = c.E.Div(c.E.Cast(c.G.Node("Size", [c.Input(0)])), c.E.Cast(c.G.Node("Size", [c.Output(0)])));
            return c.E.Div(expanded, count);
        });
    }

    private static string ExpandBack(GradientContext c, string gy, long[]? axes, bool noopWhenEmpty)
    {
        var x = c.Input(0);
        if (axes is { Length: 0 } && noopWhenEmpty) return gy;
        var keep = OnnxAttribute.GetInt(c.Node, "keepdims", 1) != 0;
        if (!keep && axes is { Length: > 0 })
        {
            var rank = c.Rank(x);
            gy = c.Unsqueeze(gy, axes.Select(v => v < 0 ? v + rank : v).Order().ToArray());
        }
        return c.G.Node("Expand", [gy, c.ShapeOf(x)]);
    }
}
