using Microsoft.ML.OnnxRuntime;
using OnnxTransfer.Audio;

using OnnxTransfer.Runtime;
namespace OnnxTransfer.WakeWords;

/// <summary>
/// Silero VAD (v4 ONNX: <c>input</c> [1,T] in [-1,1], <c>sr</c> int64, LSTM state <c>h</c>,<c>c</c> [2,1,64] →
/// <c>output</c> [1,1] speech probability, <c>hn</c>, <c>cn</c>) run on 512-sample frames of 16 kHz audio,
/// carrying its state from frame to frame. One instance per audio stream; not thread-safe.
/// </summary>
public sealed class VoiceActivityDetector : IDisposable
{
    /// <summary>Samples per VAD frame at 16 kHz (32 ms).</summary>
    public const int FrameSamples = 512;

    private readonly InferenceSession _session;
    private readonly RunOptions _runOptions = new();
    private readonly ResourceGuard _guard = new(nameof(VoiceActivityDetector));
    private float[] _h = new float[2 * 64], _c = new float[2 * 64];
    private readonly float[] _pending = new float[FrameSamples];
    private int _pendingCount;

    /// <summary>Loads silero_vad.onnx from <paramref name="path"/>.</summary>
    public VoiceActivityDetector(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (!File.Exists(path)) throw new OnnxTransferException($"{path}: Silero VAD model not found; pass the path of silero_vad.onnx.");
        using var sessions = SessionFactory.ForTraining(ExecutionDevice.Cpu, 1);
        _session = sessions.CreateSession(path);
        string[] expected = ["input", "sr", "h", "c"];
        if (!expected.All(_session.InputMetadata.ContainsKey) || !new[] { "output", "hn", "cn" }.All(_session.OutputMetadata.ContainsKey))
        {
            _session.Dispose();
            throw new OnnxTransferException($"{path}: inputs/outputs are not Silero VAD v4's (input, sr, h, c -> output, hn, cn); pass silero_vad.onnx.");
        }
    }

    /// <summary>Speech probability of the last whole frame (0 before the first).</summary>
    public float Last { get; private set; }

    /// <summary>Feeds 16 kHz samples; returns the highest speech probability among the frames they completed (null if none).</summary>
    public float? Push(ReadOnlySpan<float> samples)
    {
        float? best = null;
        while (!samples.IsEmpty)
        {
            var take = Math.Min(samples.Length, FrameSamples - _pendingCount);
            samples[..take].CopyTo(_pending.AsSpan(_pendingCount));
            _pendingCount += take;
            samples = samples[take..];
            if (_pendingCount < FrameSamples) break;
            _pendingCount = 0;
            var p = RunFrame(_pending);
            best = best is null ? p : Math.Max(best.Value, p);
        }
        return best;
    }

    /// <summary>Forgets the state.</summary>
    public void Reset()
    {
        Array.Clear(_h);
        Array.Clear(_c);
        _pendingCount = 0;
        Last = 0;
    }

    private float RunFrame(float[] frame)
    {
        using var lease = _guard.Enter();
        using var input = OrtValue.CreateTensorValueFromMemory((float[])frame.Clone(), [1, FrameSamples]);
        using var sr = OrtValue.CreateTensorValueFromMemory(new long[] { SpeechFrontEnd.SampleRate }, []);
        using var h = OrtValue.CreateTensorValueFromMemory(_h, [2, 1, 64]);
        using var c = OrtValue.CreateTensorValueFromMemory(_c, [2, 1, 64]);
        using var outputs = _session.Run(_runOptions, ["input", "sr", "h", "c"], [input, sr, h, c], ["output", "hn", "cn"]);
        Last = outputs[0].GetTensorDataAsSpan<float>()[0];
        _h = outputs[1].GetTensorDataAsSpan<float>().ToArray();
        _c = outputs[2].GetTensorDataAsSpan<float>().ToArray();
        return Last;
    }

    /// <summary>Frees the session (after a run in progress on another thread); later calls throw <see cref="ObjectDisposedException"/>.</summary>
    public void Dispose()
    {
        if (!_guard.Close()) return;
        _session.Dispose();
        _runOptions.Dispose();
    }
}
