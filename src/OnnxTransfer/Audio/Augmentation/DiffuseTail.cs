
namespace OnnxTransfer.Audio.Augmentation;

/// <summary>
/// The late, diffuse part of a room response: Gaussian noise whose energy decays at the Eyring rate.
/// </summary>
/// <remarks>
/// Purely specular images decay too slowly in a shoebox: rays near an axis meet few walls, and their energy
/// dominates the late response, so the measured T20 comes out 40–75 % above Eyring's RT60. Real walls scatter,
/// which mixes directions and gives the exponential decay Eyring describes; this tail stands in for that.
/// Its level continues the images' energy over the later half of the early part (compensated for the decay),
/// so the two join without a step. That energy runs about 1.5 dB above diffuse theory,
/// 4π·c·d0²/(V·fs) × e^(−13.8·t/RT60), because of the same specular excess; the theory bounds the estimate in
/// case one strong reflection dominates the window.
/// </remarks>
internal static class DiffuseTail
{
    /// <summary>
    /// Adds the tail to <paramref name="ir"/> from sample <paramref name="start"/> on; the direct sound sits at
    /// <paramref name="direct"/>.
    /// </summary>
    public static void Add(float[] ir, Room room, int sampleRate, int direct, int start)
    {
        var decayPerSample = 3 * Math.Log(10) / (RoomSimulator.Rt60(room) * sampleRate); // amplitude: −60 dB over RT60
        var level = Level(ir, room, sampleRate, decayPerSample, Math.Max(direct + 10, start / 2), start);
        var rng = new SeededRandom(Seed(room, sampleRate));
        for (var n = Math.Max(0, start); n < ir.Length; n++)
            ir[n] += (float)(level * Math.Exp(-decayPerSample * n) * rng.NextGaussian());
    }

    /// <summary>The tail's amplitude extrapolated to t = 0, from the images in samples [from, to).</summary>
    private static double Level(float[] ir, Room room, int sampleRate, double decayPerSample, int from, int to)
    {
        var theory = Math.Sqrt(4 * Math.PI * RoomSimulator.SpeedOfSound * room.Distance * room.Distance / (room.Volume * sampleRate));
        to = Math.Min(to, ir.Length);
        if (to - from < 16) return theory;
        double sum = 0;
        for (var n = from; n < to; n++) sum += ir[n] * (double)ir[n] * Math.Exp(2 * decayPerSample * n);
        var measured = Math.Sqrt(sum / (to - from));
        // Over 300 random rooms the measured level sat within −3.3..+6.6 dB of theory; clamp to −6..+8 dB.
        return Math.Clamp(measured, theory / 2, theory * 2.5);
    }

    /// <summary>A seed fixed by the room, so the same room always gives the same response.</summary>
    private static ulong Seed(Room room, int sampleRate)
    {
        ReadOnlySpan<double> values =
        [
            room.Width, room.Depth, room.Height, room.Absorption, room.Source.X, room.Source.Y, room.Source.Z,
            room.Microphone.X, room.Microphone.Y, room.Microphone.Z, sampleRate,
        ];
        var hash = 0xCBF29CE484222325UL; // FNV-1a over the values' bits (HashCode changes per process)
        foreach (var v in values) hash = (hash ^ (ulong)BitConverter.DoubleToInt64Bits(v)) * 0x100000001B3UL;
        return hash;
    }
}
