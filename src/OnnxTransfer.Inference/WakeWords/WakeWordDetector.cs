using OnnxTransfer.Audio;

namespace OnnxTransfer.WakeWords;

/// <summary>When a score becomes a detection.</summary>
public sealed record DetectionSettings
{
    /// <summary>
    /// A frame counts when its score is at or above this; null = each model's own calibrated threshold
    /// (<see cref="IWakeWordScorer.Threshold"/>), else openWakeWord's default <see cref="DefaultThreshold"/>.
    /// </summary>
    public double? Threshold { get; init; }

    /// <summary>The threshold of models that carry none (openWakeWord's default).</summary>
    public const double DefaultThreshold = 0.5;
    /// <summary>Consecutive counting frames (80 ms each) needed to fire.</summary>
    public int Patience { get; init; } = 1;
    /// <summary>After a detection, the same wake word cannot fire again for this many seconds.</summary>
    public double DebounceSeconds { get; init; } = 1.5;
    /// <summary>With a VAD: frames count only if speech probability reached this within <see cref="VadHoldSeconds"/>; null = no gate.</summary>
    public double? VadThreshold { get; init; }
    /// <summary>How far back the VAD gate looks, in seconds.</summary>
    public double VadHoldSeconds { get; init; } = 1.0;

    /// <summary>Throws <see cref="OnnxTransferException"/> for out-of-range values.</summary>
    public void Validate()
    {
        if (Threshold is < 0 or > 1 || (Threshold is { } t && double.IsNaN(t))) throw new OnnxTransferException($"--threshold {Threshold}: must be in [0, 1].");
        if (Patience < 1) throw new OnnxTransferException($"--patience {Patience}: must be at least 1 frame.");
        if (DebounceSeconds < 0) throw new OnnxTransferException($"--debounce {DebounceSeconds}: must not be negative.");
        if (VadThreshold is < 0 or > 1) throw new OnnxTransferException($"--vad-threshold {VadThreshold}: must be in [0, 1].");
    }
}

/// <summary>One detection.</summary>
/// <param name="WakeWord">Which wake word fired.</param>
/// <param name="Time">Seconds from the start of the stream to the end of the frame that fired.</param>
/// <param name="Score">The score of that frame.</param>
public sealed record WakeWordDetection(string WakeWord, double Time, float Score);

/// <summary>
/// Threshold + patience + debounce for one wake word over a sequence of frame scores: fires on the frame that
/// completes <see cref="DetectionSettings.Patience"/> consecutive frames at or above the threshold, unless the
/// last detection was less than <see cref="DetectionSettings.DebounceSeconds"/> earlier.
/// </summary>
public sealed class DetectionGate(DetectionSettings settings)
{
    private int _run;
    private double _lastFire = double.NegativeInfinity;

    /// <summary>Feeds the score of the frame ending at <paramref name="time"/> seconds; true when it fires.</summary>
    public bool Update(double time, double score)
    {
        _run = score >= (settings.Threshold ?? DetectionSettings.DefaultThreshold) ? _run + 1 : 0;
        if (_run < settings.Patience || time - _lastFire < settings.DebounceSeconds - 1e-9) return false;
        _lastFire = time;
        _run = 0;
        return true;
    }

    /// <summary>Forgets the history.</summary>
    public void Reset()
    {
        _run = 0;
        _lastFire = double.NegativeInfinity;
    }

    /// <summary>Times at which <paramref name="scores"/> (one per frame, frame k ending at <paramref name="times"/>[k]) fire.</summary>
    public static List<double> Detections(DetectionSettings settings, IReadOnlyList<double> times, IReadOnlyList<double> scores)
    {
        var gate = new DetectionGate(settings);
        var fired = new List<double>();
        for (var k = 0; k < scores.Count; k++)
            if (gate.Update(times[k], scores[k])) fired.Add(times[k]);
        return fired;
    }
}

/// <summary>
/// Streaming wake-word detection: push 16 kHz audio in [-1,1] in pieces of any size (resample other rates with
/// <see cref="Resampler"/>); every 80 ms chunk gives one embedding from the shared <see cref="SpeechStream"/>,
/// every head scores the latest window and its <see cref="DetectionGate"/> decides. Heads share one front end,
/// so an extra wake word costs only its head. An optional Silero VAD silences frames with no recent speech.
/// One detector per audio source; not thread-safe.
/// </summary>
public sealed class WakeWordDetector
{
    private readonly IReadOnlyList<IWakeWordScorer> _heads;
    private readonly DetectionGate[] _gates;
    private readonly float[][] _windows;
    private readonly SpeechStream _stream;
    private readonly VoiceActivityDetector? _vad;
    private readonly DetectionSettings _settings;
    private readonly Queue<float> _vadRecent = new();
    private readonly float[] _score = new float[1];
    private int _pendingSamples;   // samples of the current, unfinished chunk
    private float _vadChunkMax;    // highest VAD probability within the current chunk

    /// <summary>Creates a detector over <paramref name="frontEnd"/> (not owned) for <paramref name="heads"/> (not owned).</summary>
    public WakeWordDetector(SpeechFrontEnd frontEnd, IReadOnlyList<IWakeWordScorer> heads, DetectionSettings? settings = null,
        VoiceActivityDetector? vad = null)
    {
        ArgumentNullException.ThrowIfNull(frontEnd);
        ArgumentNullException.ThrowIfNull(heads);
        if (heads.Count == 0) throw new OnnxTransferException("wake-word detector: no wake-word model given; pass at least one --model.");
        if (heads.Any(h => h is null)) throw new ArgumentException("a head is null.", nameof(heads));
        _settings = settings ?? new DetectionSettings();
        _settings.Validate();
        if (_settings.VadThreshold is not null && vad is null)
            throw new OnnxTransferException("wake-word detector: a VAD threshold was set but no VAD model was given; pass silero_vad.onnx.");
        _heads = heads;
        _gates = heads.Select(h => new DetectionGate(_settings with { Threshold = _settings.Threshold ?? h.Threshold })).ToArray();
        _windows = heads.Select(h => new float[h.WindowEmbeddings * SpeechFrontEnd.EmbeddingSize]).ToArray();
        _stream = frontEnd.CreateStream(heads.Max(h => h.WindowEmbeddings));
        _vad = vad;
        LatestScores = new float[heads.Count];
    }

    /// <summary>Seconds of audio consumed in whole chunks.</summary>
    public double Time => _stream.Chunks * (double)SpeechFrontEnd.ChunkSamples / SpeechFrontEnd.SampleRate;

    /// <summary>Each head's score on the latest frame (0 before its first window, or when the VAD gate is closed).</summary>
    public float[] LatestScores { get; }

    /// <summary>Called after every frame with (time, scores per head) — for curves and logging.</summary>
    public Action<double, float[]>? FrameScored { get; set; }

    /// <summary>Feeds samples; returns the detections they completed, in time order.</summary>
    public IReadOnlyList<WakeWordDetection> Push(ReadOnlySpan<float> samples)
    {
        var detections = new List<WakeWordDetection>();
        var chunk = SpeechFrontEnd.ChunkSamples;
        while (!samples.IsEmpty)
        {
            // Feed up to the end of the current chunk, so each embedding is scored with the VAD state of its chunk.
            var take = Math.Min(samples.Length, chunk - _pendingSamples);
            var piece = samples[..take];
            samples = samples[take..];
            _pendingSamples = (_pendingSamples + take) % chunk;
            if (_vad?.Push(piece) is { } speech) _vadChunkMax = Math.Max(_vadChunkMax, speech);
            var embeddings = _stream.Push(piece);
            if (_pendingSamples != 0) continue; // chunk not finished yet
            var open = VadGate();
            if (embeddings.Count == 0) continue;
            var time = Time;
            for (var h = 0; h < _heads.Count; h++)
            {
                if (!_stream.TryGetLatest(_heads[h].WindowEmbeddings, _windows[h])) { LatestScores[h] = 0; continue; }
                _heads[h].Score(_windows[h], _score);
                LatestScores[h] = open ? _score[0] : 0;
                if (_gates[h].Update(time, LatestScores[h]))
                    detections.Add(new WakeWordDetection(_heads[h].Name, time, LatestScores[h]));
            }
            FrameScored?.Invoke(time, LatestScores);
        }
        return detections;
    }

    /// <summary>Forgets all audio and detections.</summary>
    public void Reset()
    {
        _stream.Reset();
        _vad?.Reset();
        foreach (var g in _gates) g.Reset();
        _vadRecent.Clear();
        _vadChunkMax = 0;
        _pendingSamples = 0;
        Array.Clear(LatestScores);
    }


    /// <summary>Records the finished chunk's VAD maximum; true when speech was seen within the hold time (or no VAD).</summary>
    private bool VadGate()
    {
        if (_vad is null || _settings.VadThreshold is not { } threshold) return true;
        _vadRecent.Enqueue(_vadChunkMax);
        _vadChunkMax = 0;
        var hold = Math.Max(1, (int)Math.Round(_settings.VadHoldSeconds * SpeechFrontEnd.SampleRate / SpeechFrontEnd.ChunkSamples));
        while (_vadRecent.Count > hold) _vadRecent.Dequeue();
        return _vadRecent.Max() >= threshold;
    }
}
