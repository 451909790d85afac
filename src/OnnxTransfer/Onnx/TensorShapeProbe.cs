using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using OnnxTransfer.Onnx.Proto;
using DataType = OnnxTransfer.Onnx.Proto.TensorProto.Types.DataType;

using OnnxTransfer.Runtime;
namespace OnnxTransfer.Onnx;

/// <summary>
/// Learns the element type and shape of any tensors of a model. Declared information (inputs, outputs,
/// value_info, initializers) is used when it is complete; otherwise a pruned copy that exposes the tensors
/// as outputs is loaded in ONNX Runtime, whose shape inference usually answers; failing that, the copy is
/// run once on a dummy batch of 1 (and once of 2, to tell which dimension is the batch).
/// </summary>
internal static class TensorShapeProbe
{
    /// <summary>Sizes tried, in order, for symbolic non-batch input dimensions (tiny, image-like, audio-like).</summary>
    private static readonly long[] DummySizes = [1, 224, 16000];

    /// <summary>
    /// Type and shape of each of <paramref name="tensors"/>. Symbolic batch dimensions come back as
    /// <see cref="TensorDim.Symbolic"/> named after the model input's batch symbol (or "N").
    /// </summary>
    /// <exception cref="OnnxFormatException">A name is not in the graph, or the model cannot be run to measure it.</exception>
    public static IReadOnlyDictionary<string, TensorInfo> Infer(OnnxModel model, IEnumerable<string> tensors)
    {
        var graph = model.Graph;
        var result = new Dictionary<string, TensorInfo>(StringComparer.Ordinal);
        var unknown = new List<string>();
        foreach (var name in tensors.Distinct())
        {
            if (!GraphEditor.Contains(graph, name))
                throw new OnnxFormatException($"{model.DisplayName}: no tensor named '{name}'; list the tensors with `onnxtransfer inspect`.");
            if (GraphEditor.DeclaredInfo(graph, name) is { IsCompleteBeyondBatch: true } declared) result[name] = declared;
            else unknown.Add(name);
        }
        if (unknown.Count == 0) return result;

        var probe = model.Clone();
        GraphEditor.SetOutputs(probe.Graph, unknown.Select(n => new ValueInfoProto { Name = n }).ToArray());
        GraphEditor.Prune(probe.Graph);
        var bytes = probe.ToBytes();
        var batchSymbol = BatchSymbol(graph);

        using var sessions = SessionFactory.ForTraining(ExecutionDevice.Cpu, 1);
        InferenceSession session;
        try { session = sessions.CreateSession(bytes); }
        catch (OnnxTransferException ex) when (ex.InnerException is OnnxRuntimeException e)
        {
            throw new OnnxFormatException($"{model.DisplayName}: ONNX Runtime cannot load the model to measure tensor shapes ({OnnxModel.OneLine(e.Message)}).", e);
        }
        using (session)
        {
            var measure = new List<string>();
            foreach (var name in unknown)
            {
                var meta = session.OutputMetadata[name];
                if (!meta.IsTensor) throw new OnnxFormatException($"{model.DisplayName}: '{name}' is not a tensor ({meta.OnnxValueType}).");
                var dims = meta.Dimensions;
                if (dims.Length > 0 && dims.Skip(1).All(d => d >= 0))
                {
                    var shape = dims.Select((d, i) => d >= 0 ? TensorDim.Fixed(d)
                        : TensorDim.Symbolic(meta.SymbolicDimensions[i] is { Length: > 0 } s ? s : batchSymbol)).ToArray();
                    result[name] = new TensorInfo(name, (DataType)meta.ElementDataType, shape);
                }
                else measure.Add(name);
            }
            if (measure.Count > 0)
                foreach (var info in Measure(model, session, measure, batchSymbol))
                    result[info.Name] = info;
        }
        return result;
    }

    /// <summary>Type and shape of one tensor (see <see cref="Infer(OnnxModel, IEnumerable{string})"/>).</summary>
    public static TensorInfo Infer(OnnxModel model, string tensor) => Infer(model, [tensor])[tensor];

    /// <summary>The symbol naming the first model input's first dimension, or "N".</summary>
    public static string BatchSymbol(GraphProto graph)
    {
        var initializers = new HashSet<string>(graph.Initializer.Select(t => t.Name), StringComparer.Ordinal);
        foreach (var input in graph.Input)
        {
            if (initializers.Contains(input.Name)) continue;
            var shape = TensorInfo.FromValueInfo(input).Shape;
            if (shape is { Count: > 0 } && shape[0] is { Value: null, Symbol.Length: > 0 } d) return d.Symbol;
            break;
        }
        return "N";
    }

    private static List<TensorInfo> Measure(OnnxModel model, InferenceSession session, List<string> names, string batchSymbol)
    {
        var inputs = FeedableInputs(model);
        var batchIsSymbolic = inputs.Any(i => i.Shape!.Where((d, k) => IsBatch(d, k, batchSymbol)).Any());
        Exception? last = null;
        foreach (var size in DummySizes)
        {
            try
            {
                var one = Run(session, inputs, names, batchSymbol, batch: 1, size);
                // At the tiny size a dimension that follows a free input size (e.g. C of an [N,C] input) reads as 1:
                // measure at another size and leave what changes symbolic, rather than report a size of 1.
                if (size == DummySizes[0] && FreeSymbol(inputs, batchSymbol) is { } free)
                    one = Symbolic(one, Run(session, inputs, names, batchSymbol, batch: 1, size + 1), free);
                if (!batchIsSymbolic) return one;
                var two = Run(session, inputs, names, batchSymbol, batch: 2, size);
                return Symbolic(one, two, batchSymbol);
            }
            catch (OnnxRuntimeException e) { last = e; }
        }
        throw new OnnxFormatException(
            $"{model.DisplayName}: cannot measure the shape of '{names[0]}' by running the model on a dummy batch ({OnnxModel.OneLine(last!.Message)}); add value_info for it or name another tensor.", last);
    }

    /// <summary>Dimensions whose size differs between two measurements become <paramref name="symbol"/>.</summary>
    private static List<TensorInfo> Symbolic(List<TensorInfo> first, List<TensorInfo> second, string symbol) =>
        first.Zip(second, (a, b) => a.Shape!.Count != b.Shape!.Count ? a with { Shape = null } : a with
        {
            Shape = a.Shape.Select((d, i) => d.Value is { } v && v != b.Shape[i].Value ? TensorDim.Symbolic(symbol) : d).ToArray(),
        }).ToList();

    /// <summary>The name of the first free (symbolic, non-batch) input dimension ("?" when unnamed), or null when there is none.</summary>
    private static string? FreeSymbol(List<TensorInfo> inputs, string batchSymbol) =>
        inputs.SelectMany(i => i.Shape!.Where((d, k) => d.Value is null && !IsBatch(d, k, batchSymbol)))
            .Select(d => d.Symbol.Length > 0 ? d.Symbol : "?").FirstOrDefault();

    private static List<TensorInfo> FeedableInputs(OnnxModel model)
    {
        var initializers = new HashSet<string>(model.Graph.Initializer.Select(t => t.Name), StringComparer.Ordinal);
        var inputs = new List<TensorInfo>();
        foreach (var input in model.Graph.Input)
        {
            if (initializers.Contains(input.Name)) continue;
            var info = TensorInfo.FromValueInfo(input);
            if (info.Shape is null || info.ElementType is DataType.Undefined or DataType.String)
                throw new OnnxFormatException($"{model.DisplayName}: input '{input.Name}' has no usable type or shape ({info}); cannot make a dummy batch to measure tensor shapes.");
            inputs.Add(info);
        }
        return inputs;
    }

    // The batch is the first input's leading symbol wherever it appears (e.g. RNN states [2,batch,64]),
    // or an unnamed symbolic leading dimension.
    private static bool IsBatch(TensorDim d, int index, string batchSymbol) =>
        d.Value is null && (d.Symbol == batchSymbol || (index == 0 && d.Symbol.Length == 0));

    private static List<TensorInfo> Run(InferenceSession session, List<TensorInfo> inputs, List<string> names, string batchSymbol, long batch, long size)
    {
        var values = new List<OrtValue>();
        try
        {
            foreach (var input in inputs)
            {
                var shape = input.Shape!.Select((d, i) => d.Value ?? (IsBatch(d, i, batchSymbol) ? batch : size)).ToArray();
                var value = OrtValue.CreateAllocatedTensorValue(OrtAllocator.DefaultInstance, (TensorElementType)input.ElementType, shape);
                values.Add(value);
                Fill(value, input.ElementType);
            }
            using var runOptions = new RunOptions { LogSeverityLevel = OrtLoggingLevel.ORT_LOGGING_LEVEL_FATAL };
            using var outputs = session.Run(runOptions, inputs.Select(i => i.Name).ToArray(), values, names);
            return names.Select((n, k) =>
            {
                var t = outputs[k].GetTensorTypeAndShape();
                return new TensorInfo(n, (DataType)t.ElementDataType, t.Shape.Select(TensorDim.Fixed).ToArray());
            }).ToList();
        }
        finally
        {
            foreach (var v in values) v.Dispose();
        }
    }

    /// <summary>Deterministic values in [0,1) for float inputs (zeros can hit degenerate paths); zeros otherwise.</summary>
    private static void Fill(OrtValue value, DataType type)
    {
        if (type == DataType.Float)
        {
            var span = value.GetTensorMutableDataAsSpan<float>();
            var rng = new Random(12345);
            for (var i = 0; i < span.Length; i++) span[i] = (float)rng.NextDouble();
        }
        else value.GetTensorMutableRawData().Clear();
    }
}
