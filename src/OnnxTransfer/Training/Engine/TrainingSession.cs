using Microsoft.ML.OnnxRuntime;
using OnnxTransfer.Onnx;
using OnnxTransfer.Runtime;

namespace OnnxTransfer.Training.Engine;

/// <summary>
/// One owner of a training run's ONNX Runtime state, like ONNX Runtime Training's <c>TrainingSession</c>: the training
/// graph (forward + loss + backward), one optimizer graph per <see cref="ParameterGroup"/>, an optional eval graph, and
/// every parameter, gradient and optimizer-state tensor they use, all disposed together. Sessions come from the caller's
/// <see cref="SessionFactory"/>, so training runs on the device the user chose. Tensors stay resident between steps:
/// each run binds the previous run's output tensors as inputs (<see cref="OrtIoBinding"/>); nothing goes through managed
/// arrays except the batch going in, the loss and logits coming out, and <see cref="Read"/> (checkpoints, once an epoch).
/// On CUDA they live in device memory (not yet measured on a GPU).
/// </summary>
internal sealed class TrainingSession : IDisposable
{
    private readonly InferenceSession _train;
    private readonly InferenceSession?[] _optimizers;
    private readonly InferenceSession? _eval;
    private readonly OrtIoBinding _trainBinding;
    private readonly OrtIoBinding?[] _optimizerBindings;
    private readonly OrtIoBinding? _evalBinding;
    private readonly RunOptions _runOptions = new();
    private readonly OptimizerSettings _optimizer;
    private readonly Dictionary<string, OrtValue> _values = new(StringComparer.Ordinal);
    private readonly Dictionary<string, OrtValue> _gradients = new(StringComparer.Ordinal);
    private readonly Dictionary<string, long[]> _shapes = new(StringComparer.Ordinal);
    private readonly SessionFactory _sessions;
    private readonly OrtMemoryInfo _resident;
    private InferenceSession? _hostCopy;
    private readonly bool _ownsResident;

    private TrainingSession(SessionFactory sessions, OnnxModel training, OnnxModel? eval, IReadOnlyList<HeadParameter> parameters,
        IReadOnlyList<ParameterGroup> groups, OptimizerSettings optimizer, OrtMemoryInfo? resident)
    {
        Groups = groups;
        Parameters = parameters;
        _sessions = sessions;
        // On CUDA the tensors live in device memory between steps; elsewhere in the provider's CPU memory.
        _ownsResident = resident is null;
        _resident = resident ?? (sessions.Provider == CudaSupport.ProviderName
            ? new OrtMemoryInfo(OrtMemoryInfo.allocatorCUDA, OrtAllocatorType.DeviceAllocator, sessions.Device.DeviceId, OrtMemType.Default)
            : OrtMemoryInfo.DefaultInstance);
        _optimizer = optimizer;
        _optimizers = new InferenceSession?[groups.Count];
        _optimizerBindings = new OrtIoBinding?[groups.Count];
        try
        {
            _train = sessions.CreateSession(training.ToBytes());
            _trainBinding = _train.CreateIoBinding();
            for (var g = 0; g < groups.Count; g++)
            {
                if (groups[g].Parameters.Count == 0) continue;
                _optimizers[g] = sessions.CreateSession(OptimizerGraph.Build(groups[g].Parameters, optimizer).ToBytes());
                _optimizerBindings[g] = _optimizers[g]!.CreateIoBinding();
            }
            if (eval is not null)
            {
                _eval = sessions.CreateSession(eval.ToBytes());
                _evalBinding = _eval.CreateIoBinding();
            }
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    /// <summary>The parameter groups, in order.</summary>
    public IReadOnlyList<ParameterGroup> Groups { get; }

    /// <summary>Every parameter input of the training graph (those in no group are bound but never updated).</summary>
    public IReadOnlyList<HeadParameter> Parameters { get; }

    /// <summary>Where parameters, gradients and optimizer state live between steps.</summary>
    private OrtMemoryInfo Resident => _resident;

    private bool OnHost => ReferenceEquals(_resident, OrtMemoryInfo.DefaultInstance);

    /// <summary>
    /// Creates the sessions and loads <paramref name="values"/> and <paramref name="optimizerState"/> (by name) as
    /// the starting tensors. <paramref name="eval"/>, when given, takes the data inputs and the parameters and returns logits.
    /// <paramref name="resident"/> overrides where tensors live between steps (default: the provider's device memory).
    /// </summary>
    public static TrainingSession Create(SessionFactory sessions, OnnxModel training, OnnxModel? eval, IReadOnlyList<HeadParameter> parameters,
        IReadOnlyList<ParameterGroup> groups, OptimizerSettings optimizer, IReadOnlyDictionary<string, float[]> values, IReadOnlyDictionary<string, float[]> optimizerState,
        OrtMemoryInfo? resident = null)
    {
        var session = new TrainingSession(sessions, training, eval, parameters, groups, optimizer, resident);
        try
        {
            foreach (var p in session.Parameters)
            {
                session.Load(p.Name, values[p.Name], p.Dims);
                foreach (var s in OptimizerGraph.StateNames(optimizer, p.Name)) session.Load(s, optimizerState[s], p.Dims);
            }
            return session;
        }
        catch
        {
            session.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Runs the training graph on one batch (<paramref name="data"/>: features/activations, labels, weights, masks) and
    /// returns the loss and logits; with <paramref name="gradients"/> the gradients stay resident for <see cref="Update"/>.
    /// </summary>
    public (float Loss, float[] Logits) Forward(IReadOnlyList<(string Name, OrtValue Value)> data, bool gradients)
    {
        var binding = _trainBinding;
        binding.ClearBoundInputs();
        binding.ClearBoundOutputs();
        foreach (var (name, value) in data) binding.BindInput(name, value);
        foreach (var p in Parameters) binding.BindInput(p.Name, _values[p.Name]);
        binding.BindOutputToDevice(TrainingGraph.Loss, OrtMemoryInfo.DefaultInstance);
        binding.BindOutputToDevice(TrainingGraph.Logits, OrtMemoryInfo.DefaultInstance);
        if (gradients)
            foreach (var p in Parameters) binding.BindOutputToDevice(TrainingGraph.GradientName(p.Name), Resident);
        _train.RunWithBinding(_runOptions, binding);
        var outputs = binding.GetOutputValues();
        // The collection is not disposed as a whole: gradients are handed on to the optimizer, the rest disposed here.
        try
        {
            var loss = outputs[0].GetTensorDataAsSpan<float>()[0];
            var logits = outputs[1].GetTensorDataAsSpan<float>().ToArray();
            if (gradients)
                for (var i = 0; i < Parameters.Count; i++)
                {
                    if (_gradients.Remove(Parameters[i].Name, out var old)) old.Dispose();
                    _gradients[Parameters[i].Name] = outputs[2 + i];
                }
            return (loss, logits);
        }
        finally
        {
            outputs[0].Dispose();
            outputs[1].Dispose();
            if (!gradients) for (var i = 2; i < outputs.Count; i++) outputs[i].Dispose();
        }
    }

    /// <summary>One optimizer step for group <paramref name="group"/> with the last <see cref="Forward"/>'s gradients.</summary>
    /// <param name="group">Index into <see cref="Groups"/>.</param>
    /// <param name="learningRate">The group's learning rate for this step.</param>
    /// <param name="step">The group's 1-based update count (bias correction).</param>
    public void Update(int group, double learningRate, long step)
    {
        if (_optimizers[group] is not { } optimizer) return;
        var parameters = Groups[group].Parameters;
        var binding = _optimizerBindings[group]!;
        using var lr = OrtValue.CreateTensorValueFromMemory(new[] { (float)learningRate }, []);
        using var stepValue = OrtValue.CreateTensorValueFromMemory(new[] { (float)step }, []);
        binding.ClearBoundInputs();
        binding.ClearBoundOutputs();
        binding.BindInput(OptimizerGraph.LearningRate, lr);
        binding.BindInput(OptimizerGraph.Step, stepValue);
        var updated = new List<string>();
        foreach (var p in parameters)
        {
            binding.BindInput(p.Name, _values[p.Name]);
            binding.BindInput(TrainingGraph.GradientName(p.Name), _gradients[p.Name]);
            updated.Add(p.Name);
        }
        foreach (var p in parameters)
            foreach (var s in OptimizerGraph.StateNames(_optimizer, p.Name)) { binding.BindInput(s, _values[s]); updated.Add(s); }
        foreach (var name in updated) binding.BindOutputToDevice(OptimizerGraph.UpdatedName(name), Resident);
        optimizer.RunWithBinding(_runOptions, binding);
        var outputs = binding.GetOutputValues();
        for (var i = 0; i < updated.Count; i++) Replace(updated[i], outputs[i]);
    }

    /// <summary>Logits of the eval graph on one batch (<paramref name="data"/>: the eval graph's data inputs).</summary>
    public float[] Evaluate(IReadOnlyList<(string Name, OrtValue Value)> data)
    {
        if (_eval is null || _evalBinding is null) throw new InvalidOperationException("this training session has no eval graph.");
        _evalBinding.ClearBoundInputs();
        _evalBinding.ClearBoundOutputs();
        foreach (var (name, value) in data) _evalBinding.BindInput(name, value);
        foreach (var p in Parameters) _evalBinding.BindInput(p.Name, _values[p.Name]);
        _evalBinding.BindOutputToDevice(TrainingGraph.Logits, OrtMemoryInfo.DefaultInstance);
        _eval.RunWithBinding(_runOptions, _evalBinding);
        using var outputs = _evalBinding.GetOutputValues();
        return outputs[0].GetTensorDataAsSpan<float>().ToArray();
    }

    /// <summary>Copies the named resident tensors (parameters or optimizer state) to host arrays.</summary>
    public Dictionary<string, float[]> Read(IEnumerable<string> names)
    {
        if (OnHost) return names.ToDictionary(n => n, n => _values[n].GetTensorDataAsSpan<float>().ToArray(), StringComparer.Ordinal);
        var all = CopyToHost();
        return names.ToDictionary(n => n, n => all[n], StringComparer.Ordinal);
    }

    /// <summary>
    /// Device-resident tensors reach the host through an identity graph whose outputs are bound to CPU memory: ONNX
    /// Runtime does the device-to-host copy, on any provider. Used once an epoch (checkpoints), never per step.
    /// </summary>
    private Dictionary<string, float[]> CopyToHost()
    {
        var names = _values.Keys.Order(StringComparer.Ordinal).ToArray();
        if (_hostCopy is null)
        {
            var model = OnnxModel.Create("host_copy");
            var g = new GraphBuilder(model.Graph);
            foreach (var n in names)
            {
                var dims = _shapes[n].Select(d => (long?)d).ToArray();
                g.Input(n, Onnx.Proto.TensorProto.Types.DataType.Float, dims);
                g.Alias(g.Node("Identity", [n]), "host." + n);
                g.Output("host." + n, Onnx.Proto.TensorProto.Types.DataType.Float, dims);
            }
            _hostCopy = _sessions.CreateSession(model.ToBytes());
        }
        using var binding = _hostCopy.CreateIoBinding();
        foreach (var n in names)
        {
            binding.BindInput(n, _values[n]);
            binding.BindOutputToDevice("host." + n, OrtMemoryInfo.DefaultInstance);
        }
        _hostCopy.RunWithBinding(_runOptions, binding);
        using var outputs = binding.GetOutputValues();
        return names.Select((n, i) => (n, outputs[i].GetTensorDataAsSpan<float>().ToArray())).ToDictionary(x => x.n, x => x.Item2, StringComparer.Ordinal);
    }

    /// <summary>Names of the optimizer-state tensors, parameter by parameter.</summary>
    public IEnumerable<string> OptimizerStateNames => Parameters.SelectMany(p => OptimizerGraph.StateNames(_optimizer, p.Name));

    /// <summary>True when every parameter is finite.</summary>
    public bool ParametersFinite() => Read(Parameters.Select(p => p.Name)).Values.All(values =>
    {
        foreach (var v in values) if (!float.IsFinite(v)) return false;
        return true;
    });

    private void Load(string name, float[] values, long[] dims)
    {
        // The session's own (pinned) copy: later writes by the caller do not reach it. On a device, the first run copies
        // it in and every later step hands device tensors on.
        _shapes[name] = dims;
        Replace(name, OrtValue.CreateTensorValueFromMemory(values.ToArray(), dims));
    }

    private void Replace(string name, OrtValue value)
    {
        if (_values.Remove(name, out var old)) old.Dispose();
        _values[name] = value;
    }

    /// <inheritdoc />
    public void Dispose()
    {
        foreach (var v in _values.Values) v.Dispose();
        foreach (var v in _gradients.Values) v.Dispose();
        _values.Clear();
        _gradients.Clear();
        _trainBinding?.Dispose();
        foreach (var b in _optimizerBindings) b?.Dispose();
        _evalBinding?.Dispose();
        _train?.Dispose();
        foreach (var o in _optimizers) o?.Dispose();
        _eval?.Dispose();
        _hostCopy?.Dispose();
        if (!OnHost && _ownsResident) _resident?.Dispose();
        _runOptions.Dispose();
    }
}
