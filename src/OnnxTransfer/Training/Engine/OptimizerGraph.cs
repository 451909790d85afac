using OnnxTransfer.Onnx;
using OnnxTransfer.Onnx.Autodiff;
using DataType = OnnxTransfer.Onnx.Proto.TensorProto.Types.DataType;

namespace OnnxTransfer.Training.Engine;

/// <summary>The update rule.</summary>
[System.Text.Json.Serialization.JsonConverter(typeof(System.Text.Json.Serialization.JsonStringEnumConverter<OptimizerKind>))]
public enum OptimizerKind
{
    /// <summary>Stochastic gradient descent with optional (Nesterov) momentum; weight decay is L2 added to the gradient.</summary>
    Sgd,
    /// <summary>Adam with decoupled weight decay (Loshchilov &amp; Hutter) and bias correction.</summary>
    AdamW,
    /// <summary>
    /// Full-batch L-BFGS to the optimum of the L2-regularised loss, the L2 strength chosen on the validation
    /// split (linear heads only; see <c>Training/FullBatch/LinearHeadSolver</c>).
    /// </summary>
    Lbfgs,
    /// <summary><see cref="Lbfgs"/> for linear heads, <see cref="AdamW"/> for heads with hidden layers.</summary>
    Auto,
}

/// <summary>Optimizer hyper-parameters baked into the optimizer graph (the learning rate is an input).</summary>
public sealed record OptimizerSettings
{
    /// <summary>The update rule.</summary>
    public OptimizerKind Kind { get; init; } = OptimizerKind.Auto;
    /// <summary>SGD momentum (0 = plain SGD).</summary>
    public double Momentum { get; init; } = 0.9;
    /// <summary>SGD: Nesterov momentum.</summary>
    public bool Nesterov { get; init; }
    /// <summary>AdamW β₁.</summary>
    public double Beta1 { get; init; } = 0.9;
    /// <summary>AdamW β₂.</summary>
    public double Beta2 { get; init; } = 0.999;
    /// <summary>AdamW ε.</summary>
    public double Epsilon { get; init; } = 1e-8;
    /// <summary>Weight decay on weight matrices (biases and LayerNorm are not decayed).</summary>
    public double WeightDecay { get; init; } = 0.01;
    /// <summary>Clip gradients to this global L2 norm (0 = no clipping).</summary>
    public double ClipNorm { get; init; }

    /// <summary>These settings with <see cref="OptimizerKind.Auto"/> replaced by the rule it stands for: L-BFGS for a linear head, else AdamW.</summary>
    public OptimizerSettings ResolveFor(bool linearHead) =>
        Kind == OptimizerKind.Auto ? this with { Kind = linearHead ? OptimizerKind.Lbfgs : OptimizerKind.AdamW } : this;

    /// <summary>Short text for head.json and messages.</summary>
    public override string ToString() => Kind switch
    {
        OptimizerKind.Sgd => FormattableString.Invariant($"sgd(momentum={Momentum}, nesterov={Nesterov}, weight_decay={WeightDecay}, clip_norm={ClipNorm})"),
        OptimizerKind.Lbfgs => "lbfgs(l2 chosen on the validation split)",
        OptimizerKind.Auto => "auto(lbfgs for linear heads, else adamw)",
        _ => FormattableString.Invariant($"adamw(beta1={Beta1}, beta2={Beta2}, eps={Epsilon}, weight_decay={WeightDecay}, clip_norm={ClipNorm})"),
    };
}

/// <summary>
/// Emits one optimizer update as an ONNX graph. Inputs: <c>learning_rate</c> (scalar), <c>step</c>
/// (scalar, 1-based, for AdamW's bias correction), each parameter NAME, its gradient <c>grad.NAME</c>
/// and its state tensors (SGD: <c>momentum.NAME</c>; AdamW: <c>adam_m.NAME</c>, <c>adam_v.NAME</c>).
/// Outputs: <c>new.NAME</c> for every parameter and state tensor, and <c>grad_norm</c> (the global
/// gradient norm before clipping). Update order: clip by global norm → decay → rule, matching PyTorch's
/// SGD (L2 added to the gradient, buffer = μ·buffer + g, Nesterov step g + μ·buffer) and AdamW
/// (p ← p·(1 − lr·wd) − lr·m̂/(√v̂ + ε)).
/// </summary>
internal static class OptimizerGraph
{
    /// <summary>Input: learning rate (scalar).</summary>
    public const string LearningRate = "learning_rate";
    /// <summary>Input: 1-based step number (scalar, element type).</summary>
    public const string Step = "step";
    /// <summary>Output: global gradient L2 norm before clipping.</summary>
    public const string GradNorm = "grad_norm";

    /// <summary>Output name carrying the updated value of input <paramref name="name"/>.</summary>
    public static string UpdatedName(string name) => "new." + name;

    /// <summary>The state tensors (same shape as the parameter) kept for <paramref name="parameter"/>.</summary>
    public static IReadOnlyList<string> StateNames(OptimizerSettings settings, string parameter) => settings.Kind switch
    {
        OptimizerKind.Sgd => ["momentum." + parameter],
        _ => ["adam_m." + parameter, "adam_v." + parameter],
    };

    /// <summary>Builds the update graph for <paramref name="parameters"/>.</summary>
    public static OnnxModel Build(IReadOnlyList<HeadParameter> parameters, OptimizerSettings settings, DataType elementType = DataType.Float)
    {
        var model = OnnxModel.Create("optimizer");
        var g = new GraphBuilder(model.Graph);
        var e = new OpEmitter(g, elementType);
        var lr = g.Input(LearningRate, elementType, []);
        var step = g.Input(Step, elementType, []);
        var grads = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var p in parameters)
        {
            var dims = p.Dims.Select(d => (long?)d).ToArray();
            g.Input(p.Name, elementType, dims);
            grads[p.Name] = g.Input(GradientGraph.GradientName(p.Name), elementType, dims);
            foreach (var s in StateNames(settings, p.Name)) g.Input(s, elementType, dims);
        }

        // Global norm over every gradient; clipping scales all gradients by min(1, max/(norm + 1e-6)).
        var squares = parameters.Select(p => e.SumAll(e.Mul(grads[p.Name], grads[p.Name]))).ToArray();
        var total = squares[0];
        for (var i = 1; i < squares.Length; i++) total = e.Add(total, squares[i]);
        var norm = e.Sqrt(total);
        if (settings.ClipNorm > 0)
        {
            var scale = e.Min(e.Const(1), e.Div(e.Const(settings.ClipNorm), e.Add(norm, e.Const(1e-6))));
            foreach (var p in parameters) grads[p.Name] = e.Mul(grads[p.Name], scale);
        }

        string biasCorrection1 = "", biasCorrection2 = "";
        if (settings.Kind != OptimizerKind.Sgd)
        {
            biasCorrection1 = e.Sub(e.Const(1), e.Pow(e.Const(settings.Beta1), step));
            biasCorrection2 = e.Sub(e.Const(1), e.Pow(e.Const(settings.Beta2), step));
        }
        var outputs = new List<(string Value, string Name, long[] Dims)>();
        foreach (var p in parameters)
        {
            var grad = grads[p.Name];
            var decay = p.Decay && settings.WeightDecay > 0;
            if (settings.Kind == OptimizerKind.Sgd)
            {
                if (decay) grad = e.Add(grad, e.Mul(p.Name, e.Const(settings.WeightDecay)));
                var state = StateNames(settings, p.Name)[0];
                var buffer = settings.Momentum > 0 ? e.Add(e.Mul(state, e.Const(settings.Momentum)), grad) : grad;
                var direction = settings.Nesterov && settings.Momentum > 0 ? e.Add(grad, e.Mul(buffer, e.Const(settings.Momentum))) : buffer;
                outputs.Add((e.Sub(p.Name, e.Mul(direction, lr)), p.Name, p.Dims));
                outputs.Add((buffer, state, p.Dims));
            }
            else
            {
                var names = StateNames(settings, p.Name);
                var m = e.Add(e.Mul(names[0], e.Const(settings.Beta1)), e.Mul(grad, e.Const(1 - settings.Beta1)));
                var v = e.Add(e.Mul(names[1], e.Const(settings.Beta2)), e.Mul(e.Mul(grad, grad), e.Const(1 - settings.Beta2)));
                var mHat = e.Div(m, biasCorrection1);
                var vHat = e.Div(v, biasCorrection2);
                var param = decay ? e.Mul(p.Name, e.Sub(e.Const(1), e.Mul(lr, e.Const(settings.WeightDecay)))) : p.Name;
                var update = e.Div(mHat, e.Add(e.Sqrt(vHat), e.Const(settings.Epsilon)));
                outputs.Add((e.Sub(param, e.Mul(update, lr)), p.Name, p.Dims));
                outputs.Add((m, names[0], p.Dims));
                outputs.Add((v, names[1], p.Dims));
            }
        }
        foreach (var (value, name, dims) in outputs)
        {
            g.Alias(value, UpdatedName(name));
            g.Output(UpdatedName(name), elementType, dims.Select(d => (long?)d).ToArray());
        }
        g.Alias(norm, GradNorm);
        g.Output(GradNorm, elementType, []);
        return model;
    }
}
