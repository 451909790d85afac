using System.Text;

namespace OnnxTransfer.Training.Engine;

/// <summary>One epoch's numbers.</summary>
/// <param name="Epoch">1-based epoch.</param>
/// <param name="TrainLoss">Weighted mean training loss over the epoch's batches (before each update).</param>
/// <param name="TrainAccuracy">Training accuracy over the epoch's batches (before each update).</param>
/// <param name="ValLoss">Validation loss (plain cross-entropy, unweighted), or null without validation.</param>
/// <param name="ValAccuracy">Validation accuracy (multi-label: per-label decisions), or null.</param>
/// <param name="LearningRate">Learning rate of the epoch's last step.</param>
public sealed record EpochMetrics(int Epoch, double TrainLoss, double TrainAccuracy, double? ValLoss, double? ValAccuracy, double LearningRate);

/// <summary>
/// Everything needed to continue a run exactly where it stopped, for head training and fine-tuning alike: parameters,
/// optimizer state, step and epoch counters, every parameter group's update count, the generator state, early-stopping
/// state, the epoch history, and a fingerprint of what the run was started with (so a checkpoint is only continued by the
/// same run). Binary, little-endian: magic "OTCKPT03", the fingerprint (part name, hash), the group steps, counters, named
/// float32 tensors, then a SHA-256 of all that (checked on load, so a damaged checkpoint is refused rather than resumed).
/// Written atomically. Older files still load: head checkpoints "OTCKPT02" (digest) and "OTCKPT01" (no digest), and
/// fine-tuning checkpoints "OTFTCK02" (the same layout as "OTCKPT03").
/// </summary>
internal sealed class TrainingCheckpoint
{
    private static readonly byte[] Magic = "OTCKPT03"u8.ToArray();
    private static readonly byte[] HeadMagic = "OTCKPT02"u8.ToArray();
    private static readonly byte[] UncheckedMagic = "OTCKPT01"u8.ToArray();
    private static readonly byte[] FineTuneMagic = "OTFTCK02"u8.ToArray();

    /// <summary>Hash per part of the run's identity (empty when the run does not check one).</summary>
    public IReadOnlyDictionary<string, string> Fingerprint { get; set; } = new Dictionary<string, string>(StringComparer.Ordinal);
    /// <summary>Optimizer updates taken by each parameter group (null in checkpoints from before groups: one group, <see cref="Step"/> updates).</summary>
    public long[]? GroupSteps { get; set; }

    /// <summary>Epochs completed.</summary>
    public int Epoch { get; set; }
    /// <summary>Optimizer steps taken.</summary>
    public long Step { get; set; }
    /// <summary>State of the training generator after <see cref="Epoch"/> epochs.</summary>
    public ulong[] RandomState { get; set; } = [];
    /// <summary>Best validation score so far (lower is better; accuracy is stored negated).</summary>
    public double BestScore { get; set; } = double.PositiveInfinity;
    /// <summary>Epoch of <see cref="BestScore"/> (0 = none).</summary>
    public int BestEpoch { get; set; }
    /// <summary>Epochs since the best one.</summary>
    public int EpochsSinceBest { get; set; }
    /// <summary>True when early stopping ended the run.</summary>
    public bool Stopped { get; set; }
    /// <summary>Current parameters by name.</summary>
    public Dictionary<string, float[]> Parameters { get; set; } = new(StringComparer.Ordinal);
    /// <summary>Optimizer state tensors by name.</summary>
    public Dictionary<string, float[]> OptimizerState { get; set; } = new(StringComparer.Ordinal);
    /// <summary>Parameters at <see cref="BestEpoch"/> (empty without validation).</summary>
    public Dictionary<string, float[]> BestParameters { get; set; } = new(StringComparer.Ordinal);
    /// <summary>Per-epoch metrics so far.</summary>
    public List<EpochMetrics> History { get; set; } = [];

    /// <summary>Writes the checkpoint atomically.</summary>
    public void Save(string path) => AtomicFile.Write(path, stream => FileDigest.WriteWithTrailer(stream, body =>
    {
        using var w = new BinaryWriter(body, Encoding.UTF8, leaveOpen: true);
        w.Write(Magic);
        w.Write(Fingerprint.Count);
        foreach (var (part, hash) in Fingerprint) { w.Write(part); w.Write(hash); }
        var steps = GroupSteps ?? [Step];
        w.Write(steps.Length);
        foreach (var s in steps) w.Write(s);
        Write(w);
    }));

    /// <summary>The parts of <paramref name="fingerprint"/> that differ from this checkpoint's, comma-separated, or null when all match.</summary>
    public string? Difference(IReadOnlyDictionary<string, string> fingerprint)
    {
        var parts = fingerprint.Keys.Union(Fingerprint.Keys, StringComparer.Ordinal)
            .Where(k => fingerprint.GetValueOrDefault(k) != Fingerprint.GetValueOrDefault(k)).ToList();
        return parts.Count == 0 ? null : string.Join(", ", parts);
    }

    internal void Write(BinaryWriter w)
    {
        w.Write(Epoch); w.Write(Step);
        foreach (var s in RandomState) w.Write(s);
        w.Write(BestScore); w.Write(BestEpoch); w.Write(EpochsSinceBest); w.Write(Stopped);
        w.Write(History.Count);
        foreach (var h in History)
        {
            w.Write(h.Epoch); w.Write(h.TrainLoss); w.Write(h.TrainAccuracy);
            w.Write(h.ValLoss ?? double.NaN); w.Write(h.ValAccuracy ?? double.NaN); w.Write(h.LearningRate);
        }
        foreach (var group in new[] { Parameters, OptimizerState, BestParameters })
        {
            w.Write(group.Count);
            foreach (var (name, values) in group)
            {
                w.Write(name);
                w.Write(values.Length);
                foreach (var v in values) w.Write(v);
            }
        }
    }

    /// <summary>Reads a checkpoint; a damaged file is an <see cref="OnnxTransferException"/> naming it.</summary>
    public static TrainingCheckpoint Load(string path)
    {
        if (!File.Exists(path))
            throw new OnnxTransferException($"{path}: no checkpoint found; train the head first (or pass the head directory that holds checkpoint.bin).");
        try
        {
            using var r = new BinaryReader(File.OpenRead(path), Encoding.UTF8);
            var magic = r.ReadBytes(Magic.Length);
            var grouped = magic.AsSpan().SequenceEqual(Magic) || magic.AsSpan().SequenceEqual(FineTuneMagic);
            var digested = grouped || magic.AsSpan().SequenceEqual(HeadMagic);
            if (!digested && !magic.AsSpan().SequenceEqual(UncheckedMagic))
                throw new OnnxTransferException($"{path}: not an OnnxTransfer checkpoint (bad magic); delete it and train anew.");
            if (digested && !FileDigest.HasValidTrailer(r.BaseStream))
                throw Damaged(path);
            r.BaseStream.Position = magic.Length;
            var fingerprint = new Dictionary<string, string>(StringComparer.Ordinal);
            long[]? steps = null;
            if (grouped)
            {
                var parts = r.ReadInt32();
                if (parts is < 0 or > 1 << 10) throw Damaged(path);
                for (var i = 0; i < parts; i++) fingerprint[r.ReadString()] = r.ReadString();
                var groups = r.ReadInt32();
                if (groups is < 0 or > 1 << 16) throw Damaged(path);
                steps = new long[groups];
                for (var i = 0; i < groups; i++) steps[i] = r.ReadInt64();
            }
            var checkpoint = Read(r, path);
            checkpoint.Fingerprint = fingerprint;
            checkpoint.GroupSteps = steps;
            if (r.BaseStream.Position != r.BaseStream.Length - (digested ? FileDigest.Length : 0)) throw Damaged(path);
            return checkpoint;
        }
        catch (EndOfStreamException e)
        {
            throw new OnnxTransferException($"{path}: the checkpoint is truncated; retrain or restore it from a backup.", e);
        }
    }

    private static OnnxTransferException Damaged(string path) =>
        new($"{path}: checksum mismatch, the checkpoint is truncated or was changed after it was written; retrain, or restore it from a backup.");

    /// <summary>Reads the body written by <see cref="Write"/>; <see cref="EndOfStreamException"/> when it is cut short.</summary>
    private static TrainingCheckpoint Read(BinaryReader r, string path)
    {
        var c = new TrainingCheckpoint { Epoch = r.ReadInt32(), Step = r.ReadInt64() };
        c.RandomState = [r.ReadUInt64(), r.ReadUInt64(), r.ReadUInt64(), r.ReadUInt64()];
        c.BestScore = r.ReadDouble(); c.BestEpoch = r.ReadInt32(); c.EpochsSinceBest = r.ReadInt32(); c.Stopped = r.ReadBoolean();
        var n = r.ReadInt32();
        for (var i = 0; i < n; i++)
        {
            var (epoch, loss, acc, vl, va, lr) = (r.ReadInt32(), r.ReadDouble(), r.ReadDouble(), r.ReadDouble(), r.ReadDouble(), r.ReadDouble());
            c.History.Add(new EpochMetrics(epoch, loss, acc, double.IsNaN(vl) ? null : vl, double.IsNaN(va) ? null : va, lr));
        }
        foreach (var group in new[] { c.Parameters, c.OptimizerState, c.BestParameters })
        {
            var count = r.ReadInt32();
            for (var i = 0; i < count; i++)
            {
                var name = r.ReadString();
                var length = r.ReadInt32();
                if (length < 0 || length > r.BaseStream.Length / 4)
                    throw new OnnxTransferException($"{path}: tensor '{name}' has an impossible length {length}; the checkpoint is corrupt — retrain.");
                var values = new float[length];
                for (var k = 0; k < length; k++) values[k] = r.ReadSingle();
                group[name] = values;
            }
        }
        return c;
    }
}
