using OnnxTransfer.WakeWords;
using OnnxTransfer.WakeWords.Synthesis;

namespace OnnxTransfer.Tests.WakeWords;

public class PhoneticNeighboursTests
{
    [Fact]
    public void Phonemes_SplitMnemonics_AndReduceOnlyUnstressedVowels()
    {
        Assert.Equal(["h", "eI", "dZ", "A@", "v", "I", "s"], PhoneticNeighbours.Phonemes("h'eI dZ'A@vIs"));
        Assert.Equal(["h", "eI", "dZ", "A@", "v", "@", "s"], PhoneticNeighbours.Phonemes("h'eI dZ'A@vIs", reduceUnstressed: true));
        Assert.Equal(["S", "i:", "l", "@"], PhoneticNeighbours.Phonemes("S'i:l@"));
        Assert.True(PhoneticNeighbours.SoundAlike("h'eI dZ'A@vIs", "h'eI dZ'A@v@s"));   // "jarvus": flite says it like "jarvis"
        Assert.False(PhoneticNeighbours.SoundAlike("h'eI dZ'A@vIs", "h'eI dZ'A@wIs"));  // a consonant differs
        Assert.False(PhoneticNeighbours.SoundAlike("m'A@vIn", "m'A@v'In"));            // a stressed vowel is not reduced
    }

    [Fact]
    public void AccentVariant_AllowsOnePhonemeInSevenOnly()
    {
        const string heyJarvis = "h'eI dZ'A@vIs"; // 7 phonemes: one may differ
        Assert.True(PhoneticNeighbours.AccentVariant("'eI dZ'A@vIs", heyJarvis));   // the /h/ dropped (West Midlands)
        Assert.True(PhoneticNeighbours.AccentVariant("b'eI dZ'A@vIs", heyJarvis));  // one consonant swapped
        Assert.True(PhoneticNeighbours.AccentVariant("h'eI dZ'A@v@s", heyJarvis));  // an unstressed vowel: alike anyway
        Assert.False(PhoneticNeighbours.AccentVariant("dZ'A@vIs", heyJarvis));      // "jarvis" alone: two phonemes gone
        Assert.False(PhoneticNeighbours.AccentVariant("b'eI dZ'A@vIz", heyJarvis)); // two differ
        const string marvin = "m'A@vIn"; // 5 phonemes: only sound-alikes
        Assert.False(PhoneticNeighbours.AccentVariant("m'A@vIs", marvin));
        Assert.True(PhoneticNeighbours.AccentVariant("m'A@v@n", marvin));
    }

    [Fact]
    public void Distance_CountsPhonemeEdits()
    {
        Assert.Equal(0, PhoneticNeighbours.Distance(["m", "A@"], ["m", "A@"]));
        Assert.Equal(3, PhoneticNeighbours.Distance(PhoneticNeighbours.Phonemes("m'A@vIn"), PhoneticNeighbours.Phonemes("m'O@nIN")));
        Assert.Equal(2, PhoneticNeighbours.Distance(["a", "b", "c"], ["c"]));
        Assert.Equal(3, PhoneticNeighbours.MaxDistance(5));
    }

    [Fact]
    public void NearMisses_AreWithinTheDistance_ClosestFirst_NeverThePhraseOrASoundAlike()
    {
        var sounds = new Dictionary<string, string>
        {
            ["hey"] = "h'eI", ["jarvis"] = "dZ'A@vIs", ["jarvus"] = "dZ'A@v@s", ["carvers"] = "k'A@v3z", ["harvest"] = "h'A@vIst",
            ["java"] = "dZ'A:v@", ["banana"] = "b@n'an@", ["garvis"] = "g'A@vIs",
        };
        IReadOnlyList<string> Transcribe(IReadOnlyList<string> texts) => texts.Select(t => sounds[t]).ToArray();
        string[] words = ["jarvis", "jarvus", "carvers", "harvest", "java", "banana", "garvis"];

        var found = PhoneticNeighbours.NearMisses("Hey Jarvis", words, Transcribe, 10);

        Assert.DoesNotContain("hey jarvis", found);
        Assert.DoesNotContain("hey jarvus", found); // alike once unstressed vowels are reduced
        Assert.DoesNotContain("hey banana", found); // too far
        Assert.Equal("hey garvis", found[0]);      // one phoneme away
        var target = PhoneticNeighbours.Phonemes(sounds["jarvis"]);
        foreach (var miss in found)
            Assert.InRange(PhoneticNeighbours.Distance(PhoneticNeighbours.Phonemes(sounds[miss.Split(' ')[1]]), target), 1, PhoneticNeighbours.MaxDistance(target.Count));
        Assert.Single(PhoneticNeighbours.NearMisses("hey jarvis", words, Transcribe, 1));
    }

    [Fact]
    public void NearMisses_OfMarvin_FromEspeakAndTheWordList_SoundCloseButNotAlike()
    {
        var espeak = new EspeakSynthesizer();
        var words = ConfusablePhrases.DictionaryWords();
        Assert.NotEmpty(words); // tools/bootstrap installs wamerican

        var found = PhoneticNeighbours.NearMisses("marvin", words, espeak.RawPhonemes, 500);

        Assert.Contains("marvel", found);
        Assert.Contains("morning", found);
        Assert.DoesNotContain("marvin", found);
        var sounds = espeak.RawPhonemes(["marvin", .. found]);
        var target = PhoneticNeighbours.Phonemes(sounds[0]);
        Assert.All(sounds.Skip(1), s =>
        {
            Assert.InRange(PhoneticNeighbours.Distance(PhoneticNeighbours.Phonemes(s), target), 1, PhoneticNeighbours.MaxDistance(target.Count));
            Assert.False(PhoneticNeighbours.SoundAlike(s, sounds[0]));
        });
    }

    [Fact]
    public void RawPhonemes_InOneProcess_MatchOneCallPerWord()
    {
        var espeak = new EspeakSynthesizer();
        string[] texts = ["sheila", "hey jarvis", "morning", "it's"];
        var batch = espeak.RawPhonemes(texts);
        Assert.Equal(texts.Length, batch.Count);
        for (var i = 0; i < texts.Length; i++)
            Assert.Equal(espeak.Phonemes(texts[i]), new string(batch[i].Where(c => !char.IsWhiteSpace(c) && c is not ('\'' or ',' or ':' or '_' or '-' or '=')).ToArray()));
    }
}
