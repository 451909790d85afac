using System.Runtime.InteropServices;
using OnnxTransfer.Data;

namespace OnnxTransfer.Training.FineTuning;

/// <summary>What a fine-tuning checkpoint must agree with to be continued (<see cref="Training.TrainingCheckpoint.Fingerprint"/>).</summary>
internal static class FineTuneFingerprint
{
    /// <summary>
    /// What a checkpoint must agree with to be continued, as one hash per part: the unfrozen layers and head (names,
    /// shapes, boundary), the starting backbone weights, the training options (minus where files go), the training and
    /// validation items (ids and labels, in order) and the first training activations (catches another prefix or preprocessing).
    /// </summary>
    public static Dictionary<string, string> Of(FineTuneGraph graph, FineTuneOptions options, IActivationSource train, IActivationSource? val)
    {
        static string Hash(Action<System.Security.Cryptography.IncrementalHash> add)
        {
            using var hash = System.Security.Cryptography.IncrementalHash.CreateHash(System.Security.Cryptography.HashAlgorithmName.SHA256);
            add(hash);
            return Convert.ToHexStringLower(hash.GetHashAndReset());
        }
        static void Text(System.Security.Cryptography.IncrementalHash h, string s) => h.AppendData(System.Text.Encoding.UTF8.GetBytes(s + "\n"));
        static string Items(IReadOnlyList<DatasetItem> items) => Hash(h => { foreach (var i in items) Text(h, i.Id + "\t" + i.Label); });
        var rows = Enumerable.Range(0, Math.Min(8, train.Items.Count)).ToArray();
        var sample = new float[rows.Length * (int)train.SampleShape.Aggregate(1L, (a, d) => a * d)];
        train.Fill(0, rows, sample);
        var settings = options with { ActivationStore = null, CheckpointPath = null, PrefixBatchSize = 0 };
        return new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["layers and head"] = Hash(h =>
            {
                Text(h, graph.Boundary + " " + string.Join(",", train.SampleShape));
                foreach (var p in graph.Parameters) Text(h, p.Name + " " + string.Join(",", p.Dims));
            }),
            ["backbone weights"] = Hash(h => { foreach (var p in graph.Parameters) if (graph.BackboneValues.TryGetValue(p.Name, out var v)) h.AppendData(MemoryMarshal.AsBytes(v.AsSpan())); }),
            ["options"] = Hash(h => Text(h, JsonText.Write(settings, FineTuningJson.Default.FineTuneOptions, indented: false))),
            ["training items"] = Items(train.Items),
            ["validation items"] = val is null ? "none" : Items(val.Items),
            ["training activations"] = Hash(h => h.AppendData(MemoryMarshal.AsBytes(sample.AsSpan()))),
        };
    }
}
