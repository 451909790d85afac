using System.Text.RegularExpressions;

namespace OnnxTransfer.WakeWords;

/// <summary>
/// Who speaks in a clip, so evaluation can prove it shares no speaker or voice with training: a synthesized
/// clip's voice (engine:voice, from the synth.json of its dataset), a Speech Commands speaker (the hash before
/// <c>_nohash_</c>), a Free Spoken Digit Dataset speaker (<c>digit_speaker_n.wav</c>), else the file itself.
/// </summary>
internal static partial class SpeakerIdentity
{
    private static readonly Dictionary<string, Dictionary<string, string>?> Manifests = new(StringComparer.Ordinal);

    /// <summary>The speaker id of <paramref name="path"/>.</summary>
    public static string Of(string path)
    {
        var name = Path.GetFileName(path);
        if (SynthesizedSpeaker(path) is { } voice) return voice;
        if (SpeechCommands().Match(name) is { Success: true } sc) return "speech-commands:" + sc.Groups[1].Value;
        if (Fsdd().Match(name) is { Success: true } fsdd) return "fsdd:" + fsdd.Groups[1].Value;
        return "file:" + Path.GetFullPath(path);
    }

    /// <summary>
    /// Throws <see cref="OnnxTransferException"/> when an evaluation file or speaker also occurs in training
    /// (<paramref name="trainingFiles"/>, <paramref name="trainingSpeakers"/>), naming the first overlap.
    /// </summary>
    public static void CheckDisjoint(IEnumerable<string> evaluationFiles, IEnumerable<string> trainingFiles, IEnumerable<string> trainingSpeakers, string what)
    {
        var files = trainingFiles.Select(Path.GetFullPath).ToHashSet(StringComparer.Ordinal);
        var speakers = trainingSpeakers.ToHashSet(StringComparer.Ordinal);
        foreach (var f in evaluationFiles)
        {
            if (files.Contains(Path.GetFullPath(f)))
                throw new OnnxTransferException($"{f}: this {what} file was used in training; evaluate on recordings training never saw.");
            var speaker = Of(f);
            if (speakers.Contains(speaker))
                throw new OnnxTransferException($"{f}: its speaker/voice {speaker} was heard in training; evaluate on voices training never heard.");
        }
    }

    private static string? SynthesizedSpeaker(string path)
    {
        for (var dir = Path.GetDirectoryName(Path.GetFullPath(path)); dir is not null; dir = Path.GetDirectoryName(dir))
        {
            Dictionary<string, string>? map;
            lock (Manifests)
            {
                if (!Manifests.TryGetValue(dir, out map))
                {
                    var manifest = File.Exists(Path.Combine(dir, SynthesisManifest.FileName)) ? SynthesisManifest.TryRead(dir) : null;
                    map = manifest?.Clips.ToDictionary(c => Path.GetFullPath(Path.Combine(dir, c.Path)), c => c.Speaker, StringComparer.Ordinal);
                    Manifests[dir] = map;
                }
            }
            if (map is not null) return map.GetValueOrDefault(Path.GetFullPath(path));
        }
        return null;
    }

    [GeneratedRegex(@"^([0-9a-f]{8})_nohash_\d+\.wav$", RegexOptions.IgnoreCase)]
    private static partial Regex SpeechCommands();

    [GeneratedRegex(@"^\d_([a-z]+)_\d+\.wav$", RegexOptions.IgnoreCase)]
    private static partial Regex Fsdd();
}
