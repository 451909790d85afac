namespace OnnxTransfer.Audio.Augmentation;

/// <summary>A point in a room, in metres from the corner at the origin (X along the width, Y along the depth, Z up).</summary>
internal readonly record struct RoomPoint(double X, double Y, double Z)
{
    /// <summary>Euclidean distance to <paramref name="other"/> in metres.</summary>
    public double DistanceTo(RoomPoint other)
    {
        double dx = X - other.X, dy = Y - other.Y, dz = Z - other.Z;
        return Math.Sqrt(dx * dx + dy * dy + dz * dz);
    }

    /// <inheritdoc/>
    public override string ToString() => $"({X:0.##}, {Y:0.##}, {Z:0.##})";
}

/// <summary>
/// A shoebox room with the same absorption on every wall, a sound source (the talker) and a microphone.
/// Validated on construction, so every <see cref="Room"/> can be simulated.
/// </summary>
internal sealed record Room
{
    /// <summary>Smallest distance (metres) the source and microphone keep from every wall and from each other.</summary>
    public const double Clearance = 0.1;

    /// <summary>Creates a room of <paramref name="width"/> × <paramref name="depth"/> × <paramref name="height"/> metres.</summary>
    /// <param name="width">Size along X in metres.</param>
    /// <param name="depth">Size along Y in metres.</param>
    /// <param name="height">Size along Z in metres.</param>
    /// <param name="absorption">Energy absorption coefficient of the walls, in (0, 1).</param>
    /// <param name="source">The talker, at least <see cref="Clearance"/> from every wall.</param>
    /// <param name="microphone">The microphone, at least <see cref="Clearance"/> from every wall and from the source.</param>
    /// <exception cref="OnnxTransferException">A size, the absorption or a position is out of range.</exception>
    public Room(double width, double depth, double height, double absorption, RoomPoint source, RoomPoint microphone)
    {
        CheckSize("width", width);
        CheckSize("depth", depth);
        CheckSize("height", height);
        if (!(absorption > 0 && absorption < 1))
            throw new OnnxTransferException($"room absorption {absorption}: must be in (0, 1); use RoomSimulator.AbsorptionFor to get one from an RT60.");
        (Width, Depth, Height, Absorption) = (width, depth, height, absorption);
        CheckInside("source", source);
        CheckInside("microphone", microphone);
        if (source.DistanceTo(microphone) < Clearance)
            throw new OnnxTransferException($"room source {source} and microphone {microphone}: closer than {Clearance} m; move them apart.");
        (Source, Microphone) = (source, microphone);
    }

    /// <summary>Size along X in metres.</summary>
    public double Width { get; }
    /// <summary>Size along Y in metres.</summary>
    public double Depth { get; }
    /// <summary>Size along Z in metres.</summary>
    public double Height { get; }
    /// <summary>Energy absorption coefficient of every wall, in (0, 1).</summary>
    public double Absorption { get; }
    /// <summary>Where the talker is.</summary>
    public RoomPoint Source { get; }
    /// <summary>Where the microphone is.</summary>
    public RoomPoint Microphone { get; }

    /// <summary>Volume in m³.</summary>
    public double Volume => Width * Depth * Height;
    /// <summary>Total wall, floor and ceiling area in m².</summary>
    public double Surface => 2 * (Width * Depth + Width * Height + Depth * Height);
    /// <summary>Source–microphone distance in metres.</summary>
    public double Distance => Source.DistanceTo(Microphone);

    /// <summary>The same room and positions with another absorption.</summary>
    public Room WithAbsorption(double absorption) => new(Width, Depth, Height, absorption, Source, Microphone);

    private static void CheckSize(string name, double value)
    {
        if (!(value >= 2 * Clearance + 0.1 && value <= 1000))
            throw new OnnxTransferException($"room {name} {value} m: must be between {2 * Clearance + 0.1} and 1000 m.");
    }

    private void CheckInside(string name, RoomPoint p)
    {
        if (!(Within(p.X, Width) && Within(p.Y, Depth) && Within(p.Z, Height)))
            throw new OnnxTransferException(
                $"room {name} {p}: must lie inside the {Width} × {Depth} × {Height} m room at least {Clearance} m from every wall; move it inwards.");
    }

    private static bool Within(double v, double size) => v >= Clearance && v <= size - Clearance;
}
