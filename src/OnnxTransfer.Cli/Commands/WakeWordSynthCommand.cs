using System.CommandLine;
using OnnxTransfer.Cli.Rendering;
using OnnxTransfer.WakeWords;

namespace OnnxTransfer.Cli.Commands;

/// <summary><c>onnxtransfer wakeword synth "PHRASE" --out DIR [--count N] [--negatives M] [--seed S] [--noise DIR]</c>.</summary>
public static class WakeWordSynthCommand
{
    /// <summary>Builds the command.</summary>
    public static Command Create()
    {
        var phrase = new Argument<string>("phrase") { Description = "The wake phrase, e.g. \"hey computer\"." };
        var output = new Option<string>("--out", "-o") { Description = "Output folder: {train,test}/{positive,negative}/*.wav + synth.json.", Required = true };
        var count = new Option<int>("--count", "-n") { Description = "Positive clips (train + test).", DefaultValueFactory = _ => 500 };
        var negatives = new Option<int?>("--negatives") { Description = "Negative clips (default: twice --count)." };
        var seed = new Option<ulong>("--seed") { Description = "Random seed (same seed, same clips).", DefaultValueFactory = _ => 1UL };
        var noise = new Option<string?>("--noise") { Description = "Folder of background-noise .wav recordings (default: synthetic pink/white noise)." };
        var testFraction = new Option<double>("--test-fraction") { Description = "Share of clips in the test split, spoken by held-out voice variants.", DefaultValueFactory = _ => 0.2 };
        var threads = new Option<int>("--threads") { Description = "Worker threads.", DefaultValueFactory = _ => Environment.ProcessorCount };
        var command = new Command("synth", "Synthesize a wake-word dataset with espeak-ng (positives, near misses, other speech) and augment it.")
        {
            phrase, output, count, negatives, seed, noise, testFraction, threads,
        };
        command.SetAction(async (pr, ct) =>
        {
            var options = new WakeWordDataOptions
            {
                Phrase = pr.GetValue(phrase)!,
                Positives = pr.GetValue(count),
                Negatives = pr.GetValue(negatives),
                Seed = pr.GetValue(seed),
                NoiseFolder = pr.GetValue(noise),
                TestFraction = pr.GetValue(testFraction),
                Threads = pr.GetValue(threads),
            };
            var dir = pr.GetValue(output)!;
            var manifest = await ProgressRenderer.RunAsync("synth", progress =>
                Task.Run(() => WakeWordDataGenerator.Generate(dir, options, null, progress, ct), ct));
            foreach (var group in manifest.Clips.GroupBy(c => (c.Split, c.Label)).OrderBy(g => g.Key))
                Console.WriteLine($"{group.Key.Split}/{group.Key.Label}: {group.Count()} clips ({string.Join(", ", group.GroupBy(c => c.Kind).Select(k => $"{k.Key} {k.Count()}"))})");
            Console.WriteLine($"test voices (held out): {string.Join(", ", manifest.TestVariants)}");
            Console.WriteLine($"wrote {Path.Combine(dir, SynthesisManifest.FileName)}");
            return 0;
        });
        return command;
    }
}
