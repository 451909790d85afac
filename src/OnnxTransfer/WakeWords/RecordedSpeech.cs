using OnnxTransfer.Audio;
using OnnxTransfer.WakeWords.Synthesis;

namespace OnnxTransfer.WakeWords;

/// <summary>One installed recording of a real person.</summary>
/// <param name="Path">The recording (Ogg Vorbis).</param>
/// <param name="Speaker">"klettres:LANGUAGE": KLettres has one reader per language folder.</param>
/// <param name="Text">What is said: the letter or syllable (the file name).</param>
internal sealed record Recording(string Path, string Speaker, string Text);

/// <summary>
/// Real people's speech that a system package installs, for negatives: KLettres (Debian/Ubuntu package
/// <c>klettres-data</c>) holds letters and syllables read by native speakers of about 20 languages, some 1,800 clips
/// and 50 minutes, decoded with <c>oggdec</c> (package <c>vorbis-tools</c>). Without real voices among the
/// negatives the head only ever hears synthesizers say other things, and a real person saying a short word can
/// score like the phrase. None of these readers is in an evaluation set (Speech Commands, Free Spoken Digits).
/// </summary>
internal sealed class RecordedSpeech(string folder = RecordedSpeech.KLettresFolder, string decoder = "oggdec")
{
    /// <summary>Where klettres-data installs its sounds.</summary>
    public const string KLettresFolder = "/usr/share/klettres";

    private readonly ExternalProgram _oggdec = new("recorded speech", decoder, "apt-get install klettres-data vorbis-tools");

    /// <summary>Time allowed to decode one clip.</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Why the recordings cannot be used (a one-line hint), or null when they can.</summary>
    public string? Unavailable()
    {
        if (Find().Count == 0) return $"no KLettres recordings in {folder}; install klettres-data and vorbis-tools (tools/bootstrap does)";
        try
        {
            _oggdec.Run(["--version"], Timeout, CancellationToken.None);
            return null;
        }
        catch (OnnxTransferException e)
        {
            return e.Message;
        }
    }

    /// <summary>Every recording, ordered by path: FOLDER/LANGUAGE/{alpha,syllab}/NAME.ogg.</summary>
    public IReadOnlyList<Recording> Find()
    {
        if (!Directory.Exists(folder)) return [];
        return Directory.EnumerateFiles(folder, "*.ogg", SearchOption.AllDirectories)
            .Select(p => (Path: p, Parts: System.IO.Path.GetRelativePath(folder, p).Split(System.IO.Path.DirectorySeparatorChar)))
            .Where(x => x.Parts.Length == 3)
            .OrderBy(x => x.Path, StringComparer.Ordinal)
            .Select(x => new Recording(x.Path, "klettres:" + x.Parts[0], System.IO.Path.GetFileNameWithoutExtension(x.Path)))
            .ToArray();
    }

    /// <summary>The recording as 16 kHz mono in [-1,1], silence trimmed; an undecodable file is an error naming it.</summary>
    public float[] Decode(Recording recording, CancellationToken ct)
    {
        using var temp = ExternalProgram.NewTempFolder();
        var wav = temp.File("decoded.wav");
        var (code, _, error) = _oggdec.Run(["--quiet", "--output", wav, recording.Path], Timeout, ct);
        if (code != 0 || !File.Exists(wav))
            throw new OnnxTransferException($"{recording.Path}: oggdec could not decode it ({ExternalProgram.OneLine(error)}); reinstall klettres-data or pass --recordings false.");
        var samples = WavReader.Read(wav).ResampleTo(SpeechFrontEnd.SampleRate).Samples;
        for (var i = 0; i < samples.Length; i++) samples[i] = Math.Clamp(samples[i], -1f, 1f); // resampling can overshoot full scale
        return SignalLevel.TrimSilence(samples);
    }
}
