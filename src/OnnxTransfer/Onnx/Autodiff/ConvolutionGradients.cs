using OnnxTransfer.Onnx;

namespace OnnxTransfer.Onnx.Autodiff;

/// <summary>Gradient rules of Conv, BatchNormalization and the pooling ops (NC + spatial layout).</summary>
internal static partial class GradientRules
{
    /// <summary>Kernel, strides, dilations and explicit begin/end pads of a Conv or pooling node (auto_pad resolved).</summary>
    private sealed record Window(long[] Kernel, long[] Strides, long[] Dilations, long[] Begin, long[] End)
    {
        public int Rank => Kernel.Length;

        /// <summary>ConvTranspose output_padding that makes the transposed op give back exactly the input size.</summary>
        public long[] OutputPadding(long[] input, long[] output) => Enumerable.Range(0, Rank)
            .Select(i => input[i] - ((output[i] - 1) * Strides[i] + (Kernel[i] - 1) * Dilations[i] + 1 - Begin[i] - End[i])).ToArray();

        public long[] Pads => Begin.Concat(End).ToArray();
    }

    private static Window WindowOf(GradientContext c, long[] kernel, long[] input)
    {
        var n = kernel.Length;
        var strides = OnnxAttribute.GetInts(c.Node, "strides", Ones(n));
        var dilations = OnnxAttribute.GetInts(c.Node, "dilations", Ones(n));
        var pads = OnnxAttribute.GetInts(c.Node, "pads", new long[2 * n]);
        var autoPad = OnnxAttribute.GetString(c.Node, "auto_pad", "NOTSET");
        var begin = pads.Take(n).ToArray();
        var end = pads.Skip(n).ToArray();
        if (autoPad is "SAME_UPPER" or "SAME_LOWER")
            for (var i = 0; i < n; i++)
            {
                var output = (input[i] + strides[i] - 1) / strides[i];
                var total = Math.Max(0, (output - 1) * strides[i] + (kernel[i] - 1) * dilations[i] + 1 - input[i]);
                begin[i] = autoPad == "SAME_UPPER" ? total / 2 : total - total / 2;
                end[i] = total - begin[i];
            }
        else if (autoPad == "VALID") { begin = new long[n]; end = new long[n]; }
        return new Window(kernel, strides, dilations, begin, end);
    }

    private static long[] Ones(int n) => Enumerable.Repeat(1L, n).ToArray();

    private static long[] Spatial(GradientContext c, string tensor) =>
        Enumerable.Range(2, c.Rank(tensor) - 2).Select(i => c.Fixed(tensor, i)).ToArray();

    private static long[] Range(int from, int count) => Enumerable.Range(from, count).Select(i => (long)i).ToArray();

    /// <summary>
    /// Y = conv(X, W) + B with groups. dB = Σ dY over batch and space. dX = ConvTranspose(dY, W) with the same
    /// window and the output_padding that restores X's size (a strided conv drops trailing rows). dW is itself
    /// a convolution with batch and channels swapped: per group, Xᵀ [C_in/g, N, ...] convolved with dYᵀ
    /// [C_out, N, ...] as the kernel, strides and dilations exchanged, cropped to the kernel size; the groups
    /// ride along as a grouped conv (batch folded into channels), so a depthwise conv costs no C² work.
    /// </summary>
    private static void Conv(GradientContext c)
    {
        if (c.OutputGradient() is not { } gy) return;
        var (x, w, y) = (c.Input(0), c.Input(1), c.Output(0));
        var kernel = Spatial(c, w);
        var xs = Spatial(c, x);
        var ys = Spatial(c, y);
        var n = kernel.Length;
        var win = WindowOf(c, kernel, xs);
        var group = OnnxAttribute.GetInt(c.Node, "group", 1);
        var cin = c.Fixed(x, 1);
        var cout = c.Fixed(w, 0);
        var spatialAxes = Range(2, n);

        if (c.Needs(2)) c.Add(2, c.ReduceSum(gy, false, [0, .. spatialAxes]));
        if (c.Needs(0))
            c.Add(0, c.G.Node("ConvTranspose", [gy, w],
                OnnxAttribute.Ints("kernel_shape", kernel), OnnxAttribute.Ints("strides", win.Strides), OnnxAttribute.Ints("dilations", win.Dilations),
                OnnxAttribute.Ints("pads", win.Pads), OnnxAttribute.Ints("output_padding", win.OutputPadding(xs, ys)), OnnxAttribute.Int("group", group)));
        if (c.Needs(1))
        {
            var cig = cin / group;
            var cog = cout / group;
            string xt, gyt;
            if (group == 1)
            {
                xt = c.Transpose(x, [1, 0, .. spatialAxes]);
                gyt = c.Transpose(gy, [1, 0, .. spatialAxes]);
            }
            else
            {
                // X [N, g·cig, S] → [N, g, cig, S] → [cig, g, N, S] → [cig, g·N, S]: channel j·N + n holds X[n, j·cig + ci].
                var x5 = c.ReshapeTo(x, [0, group, cig, .. xs]);
                xt = c.ReshapeTo(c.Transpose(x5, [2, 1, 0, .. Range(3, n)]), [cig, -1, .. xs]);
                // dY [N, g·cog, S'] → [N, g, cog, S'] → [g, cog, N, S'] → [g·cog, N, S']: filter j·cog + o, channel n.
                var gy5 = c.ReshapeTo(gy, [0, group, cog, .. ys]);
                gyt = c.ReshapeTo(c.Transpose(gy5, [1, 2, 0, .. Range(3, n)]), [cout, -1, .. ys]);
            }
            var full = c.G.Node("Conv", [xt, gyt],
                OnnxAttribute.Ints("strides", win.Dilations), OnnxAttribute.Ints("dilations", win.Strides),
                OnnxAttribute.Ints("pads", win.Pads), OnnxAttribute.Int("group", group));
            // The correlation can run past the kernel when the input has rows the strided conv never reached.
            var produced = Enumerable.Range(0, n).Select(i => (xs[i] + win.Begin[i] + win.End[i] - (ys[i] - 1) * win.Strides[i] - 1) / win.Dilations[i] + 1).ToArray();
            if (produced.Where((p, i) => p != kernel[i]).Any())
                full = c.G.Node("Slice", [full, c.G.Int64s("starts", new long[n]), c.G.Int64s("ends", kernel), c.G.Int64s("axes", spatialAxes)]);
            c.Add(1, c.Transpose(full, [1, 0, .. spatialAxes]));
        }
    }

    /// <summary>
    /// Inference-mode BatchNormalization, y = γ·(x − μ)/√(σ² + ε) + β with the running statistics μ, σ² frozen
    /// (fine-tuning keeps them, as PyTorch's eval-mode BN does): dγ = Σ dy·x̂, dβ = Σ dy, dx = dy·γ/√(σ² + ε).
    /// </summary>
    private static void BatchNormalization(GradientContext c)
    {
        if (OnnxAttribute.GetInt(c.Node, "training_mode", 0) != 0)
            throw c.Unsupported("training-mode BatchNormalization updates batch statistics; export the model in eval mode");
        c.RequireFrozen(3, "the running mean");
        c.RequireFrozen(4, "the running variance");
        if (c.OutputGradient() is not { } gy) return;
        var x = c.Input(0);
        var rank = c.Rank(x);
        var epsilon = OnnxAttribute.GetFloat(c.Node, "epsilon", 1e-5f);
        string PerChannel(string v) => rank > 2 ? c.Unsqueeze(v, Range(1, rank - 2)) : v;
        var invStd = PerChannel(c.E.Div(c.E.Const(1), c.E.Sqrt(c.E.Add(c.Input(4), c.E.Const(epsilon)))));
        long[] axes = [0, .. Range(2, rank - 2)];
        if (c.Needs(2)) c.Add(2, c.ReduceSum(gy, false, axes));
        if (c.Needs(1))
        {
            var xhat = c.E.Mul(c.E.Sub(x, PerChannel(c.Input(3))), invStd);
            c.Add(1, c.ReduceSum(c.E.Mul(gy, xhat), false, axes));
        }
        if (c.Needs(0)) c.Add(0, c.E.Mul(gy, c.E.Mul(PerChannel(c.Input(1)), invStd)));
    }

    /// <summary>y = mean over space: dx = dy broadcast over space / (H·W).</summary>
    private static void GlobalAveragePool(GradientContext c) => Unary(c, gy =>
    {
        var x = c.Input(0);
        var count = OnnxTensor.ElementCount(Spatial(c, x));
        return c.E.Mul(c.G.Node("Expand", [gy, c.ShapeOf(x)]), c.E.Const(1.0 / count));
    });

    /// <summary>
    /// dx = ConvTranspose(dy / count, ones) per channel (group = C), where count is each window's divisor: the
    /// kernel size, or with count_include_pad = 0 the number of real (unpadded) elements, computed at build time.
    /// </summary>
    private static void AveragePool(GradientContext c) => Unary(c, gy =>
    {
        var (x, y) = (c.Input(0), c.Output(0));
        var kernel = OnnxAttribute.GetInts(c.Node, "kernel_shape", []);
        var xs = Spatial(c, x);
        var ys = Spatial(c, y);
        var win = WindowOf(c, kernel, xs);
        var n = kernel.Length;
        if (win.Dilations.Any(d => d != 1)) throw c.Unsupported("dilated average pooling");
        for (var i = 0; i < n; i++)
            if (ys[i] != (xs[i] + win.Begin[i] + win.End[i] - kernel[i]) / win.Strides[i] + 1)
                throw c.Unsupported("ceil_mode windows that run past the input are not supported");
        var channels = c.Fixed(x, 1);
        var includePad = OnnxAttribute.GetInt(c.Node, "count_include_pad", 0) != 0;
        var perAxis = Enumerable.Range(0, n).Select(i => Enumerable.Range(0, (int)ys[i]).Select(o =>
        {
            var start = o * win.Strides[i] - win.Begin[i];
            return includePad ? kernel[i] : Math.Min(start + kernel[i], xs[i]) - Math.Max(start, 0);
        }).ToArray()).ToArray();
        var counts = new double[OnnxTensor.ElementCount(ys)];
        for (var k = 0; k < counts.Length; k++)
        {
            long rest = k, product = 1;
            for (var i = n - 1; i >= 0; i--) { product *= perAxis[i][rest % ys[i]]; rest /= ys[i]; }
            counts[k] = product;
        }
        var divisor = c.Constant("pool_count", counts, [1, 1, .. ys]);
        var ones = c.Constant("pool_ones", Enumerable.Repeat(1.0, (int)(channels * OnnxTensor.ElementCount(kernel))).ToArray(), [channels, 1, .. kernel]);
        return c.G.Node("ConvTranspose", [c.E.Div(gy, divisor), ones],
            OnnxAttribute.Ints("kernel_shape", kernel), OnnxAttribute.Ints("strides", win.Strides), OnnxAttribute.Ints("pads", win.Pads),
            OnnxAttribute.Ints("output_padding", win.OutputPadding(xs, ys)), OnnxAttribute.Int("group", channels));
    });

    /// <summary>
    /// Routes each dy to the element its window picked, using MaxPool's own Indices output (flat positions in x)
    /// and ScatterElements with reduction=add (overlapping windows that picked the same element add up). Ties go
    /// to the one element ONNX Runtime reports (the first maximum), as in PyTorch, so the gradient mass is kept.
    /// </summary>
    private static void MaxPool(GradientContext c)
    {
        if (OnnxAttribute.GetInt(c.Node, "storage_order", 0) != 0)
            throw c.Unsupported("storage_order=1 (column-major indices)");
        Unary(c, gy =>
        {
            var x = c.Input(0);
            if (c.Node.Output.Count < 2 || c.Node.Output[1].Length == 0)
            {
                var indices = c.G.UniqueName("maxpool_indices");
                if (c.Node.Output.Count < 2) c.Node.Output.Add(indices);
                else c.Node.Output[1] = indices;
            }
            var flatIndices = c.ReshapeTo(c.Node.Output[1], -1);
            var size = c.Unsqueeze(c.G.Node("Size", [x]), 0);
            var scattered = c.G.Node("ScatterElements", [c.Zeros(size), flatIndices, c.ReshapeTo(gy, -1)],
                OnnxAttribute.Int("axis", 0), OnnxAttribute.String("reduction", "add"));
            return c.ReshapeLike(scattered, x);
        });
    }
}
