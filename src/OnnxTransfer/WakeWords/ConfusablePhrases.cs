using System.Text;
using OnnxTransfer.Training.Engine;

namespace OnnxTransfer.WakeWords;

/// <summary>
/// Near misses of a wake phrase, made by spelling edits that change its sound: drop a syllable, swap a
/// syllable's vowel or its leading consonant, drop or replace a word. espeak-ng reads the edited spelling, so
/// the negatives sound close to the phrase without being it. Also holds the plain speech used as other negatives.
/// </summary>
internal static class ConfusablePhrases
{
    private static readonly string[] Vowels = ["a", "e", "i", "o", "u", "ee", "oo", "ay", "ow", "oy"];
    private static readonly string[] Onsets = ["b", "d", "f", "g", "k", "l", "m", "n", "p", "r", "s", "t", "v", "w", "z", "sh", "ch"];

    /// <summary>Common short words (single-word negatives and word replacements).</summary>
    public static IReadOnlyList<string> Words { get; } =
    [
        "hello", "okay", "yes", "no", "stop", "play", "music", "weather", "lights", "today", "tomorrow", "please",
        "thanks", "alarm", "timer", "kitchen", "window", "coffee", "morning", "evening", "computer", "phone",
        "message", "volume", "again", "later", "maybe", "really", "seven", "twenty", "hundred", "listen",
        "open", "close", "start", "cancel", "remember", "garden", "table", "water", "mother", "father", "office",
        "yesterday", "seriously", "excellent", "election", "lexicon", "relax", "example", "exit", "taxi", "galaxy",
        "zero", "one", "two", "three", "four", "five", "six", "eight", "nine", "ten", "eleven", "twelve", "thirteen",
        "fifty", "thousand", "first", "second", "left", "right", "up", "down", "on", "off", "go", "come", "house",
        "happy", "bird", "dog", "cat", "tree", "bed", "wow", "sure", "shall", "she", "we", "see", "feel", "deal", "real",
        "early", "silly", "jelly", "belly", "hello there", "maybe later", "all right", "what", "where", "when",
        "why", "people", "little", "paper", "number", "letter", "money", "movie", "story", "city", "baby", "pizza",
    ];

    /// <summary>Where Debian's word lists live (package wamerican, installed by tools/bootstrap).</summary>
    public const string DictionaryPath = "/usr/share/dict/words";

    /// <summary>
    /// Plain lower-case words of 3-10 letters from the system dictionary (<see cref="DictionaryPath"/>), sorted;
    /// empty when there is none (the built-in <see cref="Words"/> remain).
    /// </summary>
    public static IReadOnlyList<string> DictionaryWords(string path = DictionaryPath) =>
        File.Exists(path)
            ? File.ReadLines(path).Where(w => w.Length is >= 3 and <= 10 && w.All(c => c is >= 'a' and <= 'z')).Distinct().Order(StringComparer.Ordinal).ToArray()
            : [];

    /// <summary>Everyday sentences (speech negatives).</summary>
    public static IReadOnlyList<string> Sentences { get; } =
    [
        "what time is it", "turn on the lights in the kitchen", "i will be there in ten minutes",
        "could you pass me the salt", "the weather is nice today", "let's go for a walk after dinner",
        "did you see the game last night", "i think we need more coffee", "please close the window",
        "my phone is almost out of battery", "the meeting starts at three o'clock", "how was your weekend",
        "can you hear me now", "we should leave early tomorrow", "the train was late again",
        "put the book on the table", "she is reading a new novel", "the children are playing outside",
        "i forgot my keys at home", "send me the report by friday", "the music is too loud",
        "there is a cat in the garden", "what are we having for lunch", "he plays the guitar every evening",
        "it might rain later this afternoon", "open the door please", "this soup tastes great",
        "i need to buy some groceries", "the store closes at nine", "let me check my calendar",
        "we watched a movie yesterday", "my brother lives in the city", "the printer is out of paper",
        "turn the volume down a little", "set a timer for five minutes", "call me when you get home",
        "the flowers need water", "i can't find the remote", "good morning everyone", "see you next week",
        "the password is on the note", "where did you park the car", "dinner will be ready soon",
        "the baby is finally asleep", "thank you very much", "I would like a glass of water",
        "the quick brown fox jumps over the lazy dog", "a lot of people were at the concert",
        "he said it was an excellent example", "please relax and take a seat", "next stop is central station",
    ];

    /// <summary>
    /// Up to <paramref name="count"/> distinct near misses of <paramref name="phrase"/> (never the phrase
    /// itself, compared without spaces and case), chosen with <paramref name="rng"/>.
    /// </summary>
    public static IReadOnlyList<string> NearMisses(string phrase, int count, SeededRandom rng)
    {
        var words = Normalize(phrase).Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (words.Length == 0) throw new OnnxTransferException("wake phrase is empty; pass a phrase such as \"hey computer\".");
        var key = Key(string.Join(' ', words));
        var found = new List<string>();
        var seen = new HashSet<string>(StringComparer.Ordinal) { key };
        for (var attempt = 0; attempt < count * 50 && found.Count < count; attempt++)
        {
            var candidate = Edit(words, rng);
            if (candidate.Length == 0 || !seen.Add(Key(candidate))) continue;
            found.Add(candidate);
        }
        return found;
    }

    /// <summary>Splits a word into rough written syllables: consonant onset + vowel group (+ final consonants).</summary>
    public static IReadOnlyList<string> Syllables(string word)
    {
        var parts = new List<string>();
        var i = 0;
        var current = new StringBuilder();
        while (i < word.Length)
        {
            while (i < word.Length && !IsVowel(word, i)) current.Append(word[i++]);
            if (i >= word.Length) break;
            while (i < word.Length && IsVowel(word, i)) current.Append(word[i++]);
            // Consonants after the vowel: all go to the next syllable, except the first of a cluster of two or more.
            var run = 0;
            while (i + run < word.Length && !IsVowel(word, i + run)) run++;
            if (i + run >= word.Length) { current.Append(word[i..]); i = word.Length; }
            else if (run >= 2) current.Append(word[i++]);
            parts.Add(current.ToString());
            current.Clear();
        }
        if (current.Length > 0)
        {
            if (parts.Count > 0) parts[^1] += current.ToString(); else parts.Add(current.ToString());
        }
        return parts;
    }

    private static string Edit(string[] words, SeededRandom rng)
    {
        var w = (string[])words.Clone();
        var kind = rng.NextInt(words.Length > 1 ? 5 : 3);
        var target = rng.NextInt(w.Length);
        var syllables = Syllables(w[target]).ToList();
        switch (kind)
        {
            case 0 when syllables.Count > 1: // drop a syllable
                syllables.RemoveAt(rng.NextInt(syllables.Count));
                w[target] = string.Concat(syllables);
                break;
            case 0:
            case 1: // swap a vowel group
            {
                var s = rng.NextInt(syllables.Count);
                syllables[s] = ReplaceVowel(syllables[s], Vowels[rng.NextInt(Vowels.Length)]);
                w[target] = string.Concat(syllables);
                break;
            }
            case 2: // swap the leading consonants of a syllable (or add one)
            {
                var s = rng.NextInt(syllables.Count);
                syllables[s] = ReplaceOnset(syllables[s], Onsets[rng.NextInt(Onsets.Length)]);
                w[target] = string.Concat(syllables);
                break;
            }
            case 3: // drop a word
                w[target] = "";
                break;
            default: // replace a word
                w[target] = Words[rng.NextInt(Words.Count)];
                break;
        }
        return string.Join(' ', w.Where(x => x.Length > 0));
    }

    private static string ReplaceVowel(string syllable, string vowel)
    {
        var start = 0;
        while (start < syllable.Length && !IsVowel(syllable, start)) start++;
        var end = start;
        while (end < syllable.Length && IsVowel(syllable, end)) end++;
        return syllable[..start] + vowel + syllable[end..];
    }

    private static string ReplaceOnset(string syllable, string onset)
    {
        var end = 0;
        while (end < syllable.Length && !IsVowel(syllable, end)) end++;
        return onset + syllable[end..];
    }

    private static bool IsVowel(string word, int i) => "aeiouy".Contains(word[i]) && !(word[i] == 'y' && i == 0);

    private static string Normalize(string text) =>
        new(text.ToLowerInvariant().Select(c => char.IsLetter(c) || c == '\'' ? c : ' ').ToArray());

    private static string Key(string text) => new(text.Where(char.IsLetter).ToArray());
}
