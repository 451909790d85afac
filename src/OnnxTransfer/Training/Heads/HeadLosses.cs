using OnnxTransfer.Onnx.Autodiff;

namespace OnnxTransfer.Training.Heads;

/// <summary>
/// A loss on logits with its gradient rule. Every loss is a weighted mean over the batch,
/// L = Σᵢ wᵢ·ℓᵢ / Σᵢ wᵢ, so dL/dlogitsᵢ = (wᵢ / Σw)·dℓᵢ/dlogitsᵢ.
/// </summary>
internal static class HeadLosses
{
    /// <summary>Emits (loss scalar, dL/dlogits) for <paramref name="task"/>.</summary>
    public static (string Loss, string LogitsGradient) Emit(OpEmitter e, HeadTask task, string logits, string labels,
        string weights, int classes, double labelSmoothing)
    {
        var normalized = e.Column(e.Div(weights, e.SumAll(weights))); // [B,1]: wᵢ / Σw
        return task switch
        {
            HeadTask.MultiClass => SoftmaxCrossEntropy(e, logits, labels, normalized, classes, labelSmoothing),
            HeadTask.Binary => SigmoidCrossEntropy(e, logits, e.Column(e.Cast(labels)), normalized, 1, labelSmoothing),
            HeadTask.MultiLabel => SigmoidCrossEntropy(e, logits, labels, normalized, classes, labelSmoothing),
            _ => throw new ArgumentOutOfRangeException(nameof(task)),
        };
    }

    /// <summary>
    /// ℓ = −Σ_c q_c·log softmax(z)_c with q = (1−ε)·onehot + ε/C. Since Σ q = 1, dℓ/dz = softmax(z) − q.
    /// </summary>
    private static (string, string) SoftmaxCrossEntropy(OpEmitter e, string logits, string labels, string w, int classes, double smoothing)
    {
        var target = e.OneHot(labels, classes);
        if (smoothing > 0) target = e.Add(e.Mul(target, e.Const(1 - smoothing)), e.Const(smoothing / classes));
        var logp = e.LogSoftmax(logits);
        var perSample = e.Neg(e.ReduceSum(e.Mul(target, logp), true, -1)); // [B,1]
        var loss = e.SumAll(e.Mul(perSample, w));
        var grad = e.Mul(e.Sub(e.Exp(logp), target), w);
        return (loss, grad);
    }

    /// <summary>
    /// Per element ℓ = max(z,0) − z·y + log(1 + e^(−|z|)) (stable BCE-with-logits), averaged over the
    /// <paramref name="width"/> outputs; dℓ/dz = (σ(z) − y)/width. Label smoothing: y ← (1−ε)·y + ε/2.
    /// </summary>
    private static (string, string) SigmoidCrossEntropy(OpEmitter e, string logits, string target, string w, int width, double smoothing)
    {
        if (smoothing > 0) target = e.Add(e.Mul(target, e.Const(1 - smoothing)), e.Const(smoothing / 2));
        var softplusTail = e.Log(e.Add(e.Const(1), e.Exp(e.Neg(e.Abs(logits)))));
        var elementwise = e.Add(e.Sub(e.Relu(logits), e.Mul(logits, target)), softplusTail);
        var scaled = width == 1 ? w : e.Mul(w, e.Const(1.0 / width));
        var loss = e.SumAll(e.Mul(elementwise, scaled));
        var grad = e.Mul(e.Sub(e.Sigmoid(logits), target), scaled);
        return (loss, grad);
    }
}
