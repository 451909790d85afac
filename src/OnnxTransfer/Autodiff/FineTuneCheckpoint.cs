using System.Runtime.InteropServices;
using OnnxTransfer.Data;
using System.Text;
using OnnxTransfer.Training;

namespace OnnxTransfer.Autodiff;

/// <summary>
/// Where an interrupted <see cref="FineTuner.Train"/> continues: the run's state after its last finished epoch
/// (<see cref="TrainingCheckpoint"/>: backbone and head parameters, AdamW state, step, generator state, best
/// epoch and its parameters, history), the update count of every parameter group, and a fingerprint of what the
/// run was started with, so a checkpoint is only ever continued by the same run. Binary: magic "OTFTCK02", the
/// fingerprint (part name, hash), the group steps, the <see cref="TrainingCheckpoint"/> body, then a SHA-256 of all
/// that (checked on load). Written atomically.
/// </summary>
public sealed class FineTuneCheckpoint
{
    private static readonly byte[] Magic = "OTFTCK02"u8.ToArray();

    /// <summary>Hash per part of the run's identity (layers and head, backbone weights, options, training items, validation items).</summary>
    public IReadOnlyDictionary<string, string> Fingerprint { get; init; } = new Dictionary<string, string>(StringComparer.Ordinal);

    /// <summary>Optimizer updates taken by each parameter group (AdamW's bias correction counts per group, like PyTorch's per-parameter step).</summary>
    public long[] GroupSteps { get; init; } = [];

    /// <summary>Parameters, optimizer state, counters, generator state, early-stopping state and history after <see cref="TrainingCheckpoint.Epoch"/> epochs.</summary>
    public TrainingCheckpoint State { get; init; } = new();

    /// <summary>The parts of <paramref name="fingerprint"/> that differ from this checkpoint's, comma-separated, or null when all match.</summary>
    public string? Difference(IReadOnlyDictionary<string, string> fingerprint)
    {
        var parts = fingerprint.Keys.Union(Fingerprint.Keys, StringComparer.Ordinal)
            .Where(k => fingerprint.GetValueOrDefault(k) != Fingerprint.GetValueOrDefault(k)).ToList();
        return parts.Count == 0 ? null : string.Join(", ", parts);
    }

    /// <summary>Writes the checkpoint atomically (temp file + rename: a kill leaves the previous epoch's checkpoint).</summary>
    public void Save(string path) => AtomicFile.Write(path, stream => FileDigest.WriteWithTrailer(stream, body =>
    {
        using var w = new BinaryWriter(body, Encoding.UTF8, leaveOpen: true);
        w.Write(Magic);
        w.Write(Fingerprint.Count);
        foreach (var (part, hash) in Fingerprint) { w.Write(part); w.Write(hash); }
        w.Write(GroupSteps.Length);
        foreach (var s in GroupSteps) w.Write(s);
        State.Write(w);
    }));

    /// <summary>Reads a checkpoint.</summary>
    /// <exception cref="OnnxTransferException">Missing, not a fine-tuning checkpoint, or damaged (the message names the file and says to delete it).</exception>
    public static FineTuneCheckpoint Load(string path)
    {
        if (!File.Exists(path)) throw new OnnxTransferException($"{path}: no fine-tuning checkpoint found; start the run without resuming.");
        try
        {
            using var r = new BinaryReader(File.OpenRead(path), Encoding.UTF8);
            if (!r.ReadBytes(Magic.Length).AsSpan().SequenceEqual(Magic))
                throw new OnnxTransferException($"{path}: not a fine-tuning checkpoint; delete it (or pick another checkpoint path) to start over.");
            if (!FileDigest.HasValidTrailer(r.BaseStream))
                throw new OnnxTransferException($"{path}: checksum mismatch, the fine-tuning checkpoint is truncated or was changed after it was written; delete it to start over.");
            r.BaseStream.Position = Magic.Length;
            var fingerprint = new Dictionary<string, string>(StringComparer.Ordinal);
            var parts = r.ReadInt32();
            for (var i = 0; i < parts; i++) fingerprint[r.ReadString()] = r.ReadString();
            var groups = r.ReadInt32();
            if (groups is < 0 or > 1 << 16) throw new OnnxTransferException($"{path}: the fine-tuning checkpoint is corrupt ({groups} parameter groups); delete it to start over.");
            var steps = new long[groups];
            for (var i = 0; i < groups; i++) steps[i] = r.ReadInt64();
            var state = TrainingCheckpoint.Read(r, path);
            if (r.BaseStream.Position != r.BaseStream.Length - FileDigest.Length)
                throw new OnnxTransferException($"{path}: the fine-tuning checkpoint has {r.BaseStream.Length - FileDigest.Length - r.BaseStream.Position} stray bytes; delete it to start over.");
            return new FineTuneCheckpoint { Fingerprint = fingerprint, GroupSteps = steps, State = state };
        }
        catch (EndOfStreamException e)
        {
            throw new OnnxTransferException($"{path}: the fine-tuning checkpoint is truncated; delete it to start over.", e);
        }
    }

    /// <summary>
    /// What a checkpoint must agree with to be continued, as one hash per part: the unfrozen layers and head (names,
    /// shapes, boundary), the starting backbone weights, the training options (minus where files go), the training and
    /// validation items (ids and labels, in order) and the first training activations (catches another prefix or preprocessing).
    /// </summary>
    internal static Dictionary<string, string> FingerprintOf(FineTuneGraph graph, FineTuneOptions options, IActivationSource train, IActivationSource? val)
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
            ["options"] = Hash(h => Text(h, System.Text.Json.JsonSerializer.Serialize(settings))),
            ["training items"] = Items(train.Items),
            ["validation items"] = val is null ? "none" : Items(val.Items),
            ["training activations"] = Hash(h => h.AppendData(MemoryMarshal.AsBytes(sample.AsSpan()))),
        };
    }
}
