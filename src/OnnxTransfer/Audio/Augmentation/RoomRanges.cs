
namespace OnnxTransfer.Audio.Augmentation;

/// <summary>Ranges <see cref="RoomSimulator.Random"/> draws a room from (uniformly). Sizes in metres, RT60 in seconds.</summary>
public sealed record RoomRanges
{
    /// <summary>Smallest width and depth.</summary>
    public double MinLength { get; init; } = 3;
    /// <summary>Largest width and depth.</summary>
    public double MaxLength { get; init; } = 10;
    /// <summary>Lowest ceiling.</summary>
    public double MinHeight { get; init; } = 2.4;
    /// <summary>Highest ceiling.</summary>
    public double MaxHeight { get; init; } = 4;
    /// <summary>Shortest reverberation time.</summary>
    public double MinRt60 { get; init; } = 0.15;
    /// <summary>Longest reverberation time.</summary>
    public double MaxRt60 { get; init; } = 0.8;
    /// <summary>Shortest talker–microphone distance.</summary>
    public double MinDistance { get; init; } = 0.3;
    /// <summary>Longest talker–microphone distance (capped by what fits in the drawn room).</summary>
    public double MaxDistance { get; init; } = 4;

    // Talker and microphone keep this far from the walls: people and devices are rarely nearer.
    private const double WallGap = 0.3;
    private const int Tries = 1000;

    internal Room Draw(SeededRandom rng)
    {
        Validate();
        var width = Signals.Uniform(rng, MinLength, MaxLength);
        var depth = Signals.Uniform(rng, MinLength, MaxLength);
        var height = Signals.Uniform(rng, MinHeight, MaxHeight);
        var rt60 = Signals.Uniform(rng, MinRt60, MaxRt60);
        var absorption = RoomSimulator.AbsorptionFor(width, depth, height, rt60);
        var mic = new RoomPoint(Inside(rng, width), Inside(rng, depth), Inside(rng, height));
        var talker = PlaceTalker(rng, width, depth, height, mic);
        return new Room(width, depth, height, absorption, talker, mic);
    }

    /// <summary>
    /// A mouth 1.0–1.9 m high at a drawn distance from <paramref name="mic"/>; distances that leave the room
    /// are drawn again, and after many failures the longest distance shrinks towards what the room allows.
    /// </summary>
    private RoomPoint PlaceTalker(SeededRandom rng, double width, double depth, double height, RoomPoint mic)
    {
        var maxDistance = MaxDistance;
        for (var attempt = 0; attempt < Tries; attempt++)
        {
            if (attempt > 0 && attempt % 100 == 0) maxDistance = Math.Max(MinDistance, 0.7 * maxDistance);
            var distance = Signals.Uniform(rng, MinDistance, maxDistance);
            var z = Math.Clamp(Signals.Uniform(rng, 1.0, 1.9), WallGap, height - WallGap);
            var dz = z - mic.Z;
            if (Math.Abs(dz) > distance) continue;
            var horizontal = Math.Sqrt(distance * distance - dz * dz);
            var angle = 2 * Math.PI * rng.NextDouble();
            var p = new RoomPoint(mic.X + horizontal * Math.Cos(angle), mic.Y + horizontal * Math.Sin(angle), z);
            if (Fits(p.X, width) && Fits(p.Y, depth)) return p;
        }
        throw new OnnxTransferException($"room ranges: no talker position {MinDistance}–{MaxDistance} m from the microphone fits a {width:0.##} × {depth:0.##} m room; lower MinDistance.");
    }

    private static double Inside(SeededRandom rng, double size) => Signals.Uniform(rng, WallGap, size - WallGap);

    private static bool Fits(double v, double size) => v >= WallGap && v <= size - WallGap;

    private void Validate()
    {
        Check("length", MinLength, MaxLength, 1.0, 1000);
        Check("height", MinHeight, MaxHeight, 1.0, 1000);
        Check("RT60", MinRt60, MaxRt60, 0.05, RoomSimulator.MaxSeconds * 4);
        Check("distance", MinDistance, MaxDistance, Room.Clearance, 1000);
    }

    private static void Check(string name, double min, double max, double lowest, double highest)
    {
        if (!(min >= lowest && min <= max && max <= highest))
            throw new OnnxTransferException($"room ranges: {name} {min}–{max} must satisfy {lowest} ≤ min ≤ max ≤ {highest}; fix the ranges.");
    }
}
