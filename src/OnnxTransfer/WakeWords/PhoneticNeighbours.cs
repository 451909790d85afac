namespace OnnxTransfer.WakeWords;

/// <summary>
/// Sound comparison on espeak-ng phoneme strings (<c>espeak-ng -q -x</c>): splits them into phonemes, measures
/// phoneme edit distance, and finds the dictionary words that sound close to a wake phrase's words ("morning",
/// "marvel", "carving" for "marvin"). Those become negatives, so the head learns the difference instead of the
/// calibration having to raise the threshold above them.
/// </summary>
internal static class PhoneticNeighbours
{
    // espeak-ng's multi-character English phoneme mnemonics, longest first (greedy match).
    private static readonly string[] MultiCharacter =
    [
        "i@3", "aI@", "aU@", "aI3", "A@", "O@", "e@", "i@", "U@", "o@", "3:", "A:", "i:", "u:", "O:", "a#", "aI", "aU", "eI", "oU", "OI",
        "dZ", "tS", "@L", "@2", "@5", "I2", "I#",
    ];

    /// <summary>
    /// Phonemes of an espeak-ng <c>-x</c> string. With <paramref name="reduceUnstressed"/>, every vowel without a
    /// stress mark becomes "@": unstressed vowels are reduced differently by each synthesizer and accent
    /// (flite says "jarvis" and "jarvus" alike), so they cannot tell two spellings apart.
    /// </summary>
    public static IReadOnlyList<string> Phonemes(string espeakPhonemes, bool reduceUnstressed = false)
    {
        var tokens = new List<string>();
        var stressed = false;
        var i = 0;
        while (i < espeakPhonemes.Length)
        {
            var c = espeakPhonemes[i];
            if (c is '\'' or ',') { stressed = true; i++; continue; }
            if (char.IsWhiteSpace(c) || c is '_' or '-' or '=' or ':' or '!') { i++; continue; }
            var token = MultiCharacter.FirstOrDefault(m => string.CompareOrdinal(espeakPhonemes, i, m, 0, m.Length) == 0) ?? c.ToString();
            i += token.Length;
            if (IsVowel(token))
            {
                if (reduceUnstressed && !stressed) token = "@";
                stressed = false;
            }
            tokens.Add(token);
        }
        return tokens;
    }

    /// <summary>Phoneme edit distance (insertions, deletions and substitutions each cost 1).</summary>
    public static int Distance(IReadOnlyList<string> a, IReadOnlyList<string> b) => EditDistance(a, b);

    /// <summary>Letter edit distance of two spellings.</summary>
    public static int LetterDistance(string a, string b) => EditDistance(a.ToCharArray(), b.ToCharArray());

    private static int EditDistance<T>(IReadOnlyList<T> a, IReadOnlyList<T> b) where T : IEquatable<T>
    {
        var row = Enumerable.Range(0, b.Count + 1).ToArray();
        for (var i = 1; i <= a.Count; i++)
        {
            var diagonal = row[0];
            row[0] = i;
            for (var j = 1; j <= b.Count; j++)
            {
                var above = row[j];
                row[j] = Math.Min(Math.Min(row[j] + 1, row[j - 1] + 1), diagonal + (a[i - 1].Equals(b[j - 1]) ? 0 : 1));
                diagonal = above;
            }
        }
        return row[b.Count];
    }

    /// <summary>
    /// Whether two espeak-ng phoneme strings sound alike: equal once stress is ignored and unstressed vowels are
    /// reduced (a near miss that differs from the phrase only there is the phrase for some synthesizer or accent).
    /// </summary>
    public static bool SoundAlike(string espeakA, string espeakB) =>
        Phonemes(espeakA, reduceUnstressed: true).SequenceEqual(Phonemes(espeakB, reduceUnstressed: true), StringComparer.Ordinal);

    /// <summary>
    /// Whether <paramref name="espeakCandidate"/> is how some accent may say <paramref name="espeakPhrase"/>: it
    /// sounds alike (<see cref="SoundAlike"/>) or, in a phrase of 7 or more phonemes, differs by at most one phoneme
    /// per 7 (unstressed vowels reduced). Accents drop an /h/ ("'ey jarvis"), shift a vowel or add an /r/; speech
    /// that is not the phrase seldom lands one phoneme from a long one, so such near misses are not negatives.
    /// </summary>
    public static bool AccentVariant(string espeakCandidate, string espeakPhrase)
    {
        var phrase = Phonemes(espeakPhrase, reduceUnstressed: true);
        return Distance(Phonemes(espeakCandidate, reduceUnstressed: true), phrase) <= phrase.Count / 7;
    }

    /// <summary>
    /// The largest phoneme distance at which a word of <paramref name="phonemes"/> phonemes still counts as a
    /// neighbour: half its phonemes, rounded up ("marvin", 5 phonemes: 3, which reaches "morning").
    /// </summary>
    public static int MaxDistance(int phonemes) => (phonemes + 1) / 2;

    /// <summary>
    /// Near misses of <paramref name="phrase"/> made of sound-alike words: for each of its words of 3 or more
    /// phonemes, the <paramref name="candidates"/> within <see cref="MaxDistance"/> phonemes of it that do not sound
    /// like it (<see cref="SoundAlike"/>), put in its place; closest first, at most <paramref name="count"/>.
    /// Never the phrase itself. <paramref name="transcribe"/> gives espeak-ng phoneme strings, one per text.
    /// </summary>
    public static IReadOnlyList<string> NearMisses(string phrase, IReadOnlyList<string> candidates, Func<IReadOnlyList<string>, IReadOnlyList<string>> transcribe,
        int count)
    {
        var words = phrase.ToLowerInvariant().Split(' ', StringSplitOptions.RemoveEmptyEntries);
        var wordSounds = transcribe(words);
        var found = new List<(int Distance, string Text)>();
        for (var w = 0; w < words.Length; w++)
        {
            var target = Phonemes(wordSounds[w]);
            if (target.Count < 3) continue;
            var bound = MaxDistance(target.Count);
            // Spelling prefilter (transcribing a whole word list takes minutes): sound-alikes are spelled alike too.
            var close = candidates.Where(c => c != words[w] && Math.Abs(c.Length - words[w].Length) <= bound + 1
                && LetterDistance(c, words[w]) <= bound + 1).ToArray();
            var sounds = transcribe(close);
            for (var k = 0; k < close.Length; k++)
            {
                var distance = Distance(Phonemes(sounds[k]), target);
                if (distance > bound || SoundAlike(sounds[k], wordSounds[w])) continue;
                var replaced = (string[])words.Clone();
                replaced[w] = close[k];
                found.Add((distance, string.Join(' ', replaced)));
            }
        }
        var phraseKey = string.Join(' ', words);
        // Within a distance, a fixed scramble rather than the alphabet, so a cap does not keep only words from a to m.
        return found.Where(f => f.Text != phraseKey).OrderBy(f => f.Distance).ThenBy(f => Scramble(f.Text)).ThenBy(f => f.Text, StringComparer.Ordinal)
            .Select(f => f.Text).Distinct().Take(count).ToArray();
    }

    private static uint Scramble(string text)
    {
        var hash = 2166136261u; // FNV-1a: stable across runs and platforms, unlike string.GetHashCode
        foreach (var c in text) hash = (hash ^ c) * 16777619u;
        return hash;
    }

    private static bool IsVowel(string token) => "aeiouAEIOUV@3".Contains(token[0]);
}
