using OnnxTransfer.WakeWords;

namespace OnnxTransfer.Tests.WakeWords;

/// <summary>A head that returns a scripted score per window, whatever the audio (then 0).</summary>
internal sealed class ScriptedScorer(string name, params float[] scores) : IWakeWordScorer
{
    private int _next;
    public string Name => name;
    public int WindowEmbeddings => 16;
    public int Calls => _next;

    public void Score(ReadOnlySpan<float> windows, Span<float> result)
    {
        Assert.Equal(result.Length * 16 * 96, windows.Length);
        for (var i = 0; i < result.Length; i++, _next++) result[i] = _next < scores.Length ? scores[_next] : 0;
    }
}

/// <summary>A head whose score is the first value of the window's last embedding (for hand-made embeddings).</summary>
internal sealed class EmbeddingValueScorer : IWakeWordScorer
{
    public string Name => "probe";
    public int WindowEmbeddings => 16;

    public void Score(ReadOnlySpan<float> windows, Span<float> result)
    {
        for (var i = 0; i < result.Length; i++) result[i] = windows[(i * 16 + 15) * 96];
    }
}
