using System.CommandLine;
using OnnxTransfer.Cli.Rendering;
using OnnxTransfer.WakeWords;

namespace OnnxTransfer.Cli.Commands;

/// <summary><c>onnxtransfer wakeword synth "PHRASE" --out DIR [--count N] [--negatives M] [--engines ...] [--exclude-engine E]</c>.</summary>
internal static class WakeWordSynthCommand
{
    /// <summary>Builds the command.</summary>
    public static Command Create()
    {
        var phrase = new Argument<string>("phrase") { Description = "The wake phrase, e.g. \"hey computer\"." };
        var output = new Option<string>("--out", "-o") { Description = "Output folder: {train,val}/{positive,negative}/*.wav (clean renders) + synth.json.", Required = true };
        var count = new Option<int>("--count", "-n") { Description = "Positive renders (train + val); training augments each several times.", DefaultValueFactory = _ => 1500 };
        var negatives = new Option<int?>("--negatives") { Description = "Negative renders: near misses, words, sentences (default: as many as --count)." };
        var engines = new Option<string[]>("--engines") { Description = "Synthesizers to use (default: every installed one of espeak-ng, flite, festival).", AllowMultipleArgumentsPerToken = true };
        var exclude = new Option<string[]>("--exclude-engine") { Description = "Synthesizers never used (e.g. one held out to evaluate on).", AllowMultipleArgumentsPerToken = true };
        var seed = new Option<ulong>("--seed") { Description = "Random seed (same seed, same clips).", DefaultValueFactory = _ => 1UL };
        var threads = new Option<int>("--threads") { Description = "Worker threads.", DefaultValueFactory = _ => Environment.ProcessorCount };
        var command = new Command("synth", "Synthesize clean wake-word speech (the phrase, near misses, other speech) with every installed synthesizer and many voices.")
        {
            phrase, output, count, negatives, engines, exclude, seed, threads,
        };
        command.SetAction(async (pr, ct) =>
        {
            var options = new WakeWordDataOptions
            {
                Phrase = pr.GetValue(phrase)!,
                Positives = pr.GetValue(count),
                Negatives = pr.GetValue(negatives),
                Engines = pr.GetValue(engines) is { Length: > 0 } e ? e : null,
                ExcludedEngines = pr.GetValue(exclude) ?? [],
                Seed = pr.GetValue(seed),
                Threads = pr.GetValue(threads),
            };
            var dir = pr.GetValue(output)!;
            var manifest = await ProgressRenderer.RunAsync("synth", progress =>
                Task.Run(() => WakeWordDataGenerator.Generate(dir, options, null, progress, ct), ct));
            foreach (var group in manifest.Clips.GroupBy(c => (c.Split, c.Label)).OrderBy(g => g.Key))
                Console.WriteLine($"{group.Key.Split}/{group.Key.Label}: {group.Count()} clips ({string.Join(", ", group.GroupBy(c => c.Voice.Split(':')[0]).Select(k => $"{k.Key} {k.Count()}"))})");
            Console.WriteLine($"synthesizers: {string.Join(", ", manifest.Engines)}; {manifest.TrainSpeakers.Length} train voices, {manifest.ValSpeakers.Length} val voices (never in train)");
            Console.WriteLine($"wrote {Path.Combine(dir, SynthesisManifest.FileName)}");
            return 0;
        });
        return command;
    }
}
