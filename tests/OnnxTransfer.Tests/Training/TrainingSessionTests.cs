using Microsoft.ML.OnnxRuntime;
using OnnxTransfer.Runtime;
using OnnxTransfer.Training.Engine;
using OnnxTransfer.Training.Heads;
using TrainingSession = OnnxTransfer.Training.Engine.TrainingSession;

namespace OnnxTransfer.Tests.Training;

/// <summary>The engine's session: resident tensors, steps and reading them back, on host memory and through a copy graph.</summary>
public class TrainingSessionTests
{
    private static Dictionary<string, float[]> TrainSteps(OrtMemoryInfo? resident)
    {
        var data = SyntheticData.Blobs(10, 3, 4, separation: 3, seed: 2);
        var spec = HeadSpec.Parse("mlp:6+layernorm");
        var parameters = HeadGraphBuilder.Parameters(spec, HeadTask.MultiClass, data.Dimension, 3);
        var optimizer = new OptimizerSettings { Kind = OptimizerKind.AdamW };
        var rng = new SeededRandom(5);
        var values = parameters.ToDictionary(p => p.Name, p => Trainer.Initialise(p, rng));
        var state = parameters.SelectMany(p => OptimizerGraph.StateNames(optimizer, p.Name).Select(s => (s, p.Count))).ToDictionary(x => x.s, x => new float[x.Count]);
        using var sessions = SessionFactory.ForTraining(ExecutionDevice.Cpu, 1);
        using var session = TrainingSession.Create(sessions, HeadGraphBuilder.BuildTraining(spec, HeadTask.MultiClass, data.Dimension, 3, 0), null,
            parameters, [new ParameterGroup(parameters)], optimizer, values, state, resident);
        var data2 = new HeadTrainingData(data, HeadTask.MultiClass, [1f, 1f, 1f], [], 0);
        var random = new SeededRandom(9);
        for (var step = 1; step <= 5; step++)
        {
            using var inputs = data2.Batch(Enumerable.Range(0, data.Count).ToArray(), 1, random);
            var (loss, _) = session.Forward(inputs.Values, gradients: true);
            Assert.True(float.IsFinite(loss));
            session.Update(0, 0.05, step);
        }
        Assert.True(session.ParametersFinite());
        return session.Read(parameters.Select(p => p.Name).Concat(session.OptimizerStateNames));
    }

    [Fact]
    public void Tensors_kept_off_the_managed_heap_read_back_the_same_as_host_tensors()
    {
        var host = TrainSteps(null);
        // A memory info that is not the default instance sends reads through the identity copy graph, the path device
        // memory takes; on the CPU the numbers must not change by a bit.
        using var arena = new OrtMemoryInfo(OrtMemoryInfo.allocatorCPU, OrtAllocatorType.ArenaAllocator, 0, OrtMemType.Default);
        var copied = TrainSteps(arena);
        Assert.Equal(host.Keys.Order(), copied.Keys.Order());
        foreach (var (name, values) in host) Assert.Equal(values, copied[name]);
        Assert.Contains(host, kv => kv.Key.EndsWith(".weight", StringComparison.Ordinal) && kv.Value.Any(v => v != 0));
    }
}
