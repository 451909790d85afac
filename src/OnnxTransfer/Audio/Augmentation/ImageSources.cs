namespace OnnxTransfer.Audio.Augmentation;

/// <summary>
/// Image-source rendering of a shoebox impulse response (Allen &amp; Berkley 1979). Each image is a mirror
/// of the source; its path is attenuated by β = √(1 − α) per wall reflection and by 1/distance, and placed
/// at its exact fractional delay.
/// </summary>
/// <remarks>
/// Fractional delays use a Hann-windowed sinc of 16 taps (±8) from a table of 512 sub-sample steps, not
/// linear interpolation: linear interpolation is a low-pass whose depth changes with the fraction
/// (−3 dB at 4 kHz for half a sample at 16 kHz), which would dull each reflection by a random amount.
/// The sinc keeps every reflection flat to about 0.8 × Nyquist; the table's rounding moves a reflection by
/// at most 1/1024 sample.
/// </remarks>
internal static class ImageSources
{
    private const int HalfTaps = 8;
    private const int Steps = 512;
    private static readonly float[] Table = BuildTable();

    /// <summary>
    /// A response of <paramref name="length"/> samples holding every image closer than <paramref name="radius"/>
    /// metres, direct path = 1.
    /// </summary>
    public static float[] Render(Room room, int sampleRate, double radius, int length)
    {
        var samplesPerMetre = sampleRate / RoomSimulator.SpeedOfSound;
        radius = Math.Min(radius, (length - 1) / samplesPerMetre); // images past the end would write outside
        // HalfTaps of padding on both sides so taps of early and late images need no bounds checks.
        var buffer = new double[length + 2 * HalfTaps + 1];
        var xs = Axis(room.Source.X, room.Microphone.X, room.Width, radius);
        var ys = Axis(room.Source.Y, room.Microphone.Y, room.Depth, radius);
        var zs = Axis(room.Source.Z, room.Microphone.Z, room.Height, radius);
        var gains = ReflectionGains(Math.Sqrt(1 - room.Absorption), MostReflections(xs) + MostReflections(ys) + MostReflections(zs) + 1);
        var direct = room.Distance;
        var r2 = radius * radius;
        // Axis lists are sorted by |offset|, so each inner loop stops at the first image outside the sphere.
        foreach (var x in xs)
        {
            var dx2 = x.Offset * x.Offset;
            if (dx2 > r2) break;
            foreach (var y in ys)
            {
                var dxy2 = dx2 + y.Offset * y.Offset;
                if (dxy2 > r2) break;
                foreach (var z in zs)
                {
                    var d2 = dxy2 + z.Offset * z.Offset;
                    if (d2 > r2) break;
                    var d = Math.Sqrt(d2);
                    Add(buffer, d * samplesPerMetre, gains[x.Reflections + y.Reflections + z.Reflections] * direct / d);
                }
            }
        }
        var ir = new float[length];
        for (var i = 0; i < length; i++) ir[i] = (float)buffer[i + HalfTaps];
        return ir;
    }

    private static void Add(double[] buffer, double delay, double amplitude)
    {
        var whole = (int)delay;
        var step = (int)((delay - whole) * Steps + 0.5); // 0..Steps; row Steps is the next whole sample
        var taps = Table.AsSpan(step * 2 * HalfTaps, 2 * HalfTaps);
        // Tap k covers sample whole − HalfTaps + 1 + k, stored at that index + HalfTaps in the buffer.
        var dst = buffer.AsSpan(whole + 1, 2 * HalfTaps);
        for (var k = 0; k < taps.Length; k++) dst[k] += amplitude * taps[k];
    }

    private readonly record struct Image(double Offset, int Reflections);

    /// <summary>
    /// Signed distances along one axis from the microphone to the source's images within the radius, with
    /// how many walls each crossed, sorted by |distance|. Image (n, q) sits at (1 − 2q)·s + 2nL and
    /// reflects |n − q| + |n| times.
    /// </summary>
    private static Image[] Axis(double source, double mic, double size, double radius)
    {
        var limit = (int)Math.Ceiling(radius / (2 * size)) + 1;
        var images = new List<Image>();
        for (var n = -limit; n <= limit; n++)
            for (var q = 0; q <= 1; q++)
            {
                var offset = (1 - 2 * q) * source + 2 * n * size - mic;
                if (Math.Abs(offset) <= radius) images.Add(new Image(offset, Math.Abs(n - q) + Math.Abs(n)));
            }
        images.Sort((a, b) => Math.Abs(a.Offset).CompareTo(Math.Abs(b.Offset)));
        return images.ToArray();
    }

    private static int MostReflections(Image[] images) => images.Max(i => i.Reflections);

    private static double[] ReflectionGains(double beta, int count)
    {
        var gains = new double[count];
        gains[0] = 1;
        for (var i = 1; i < count; i++) gains[i] = gains[i - 1] * beta;
        return gains;
    }

    private static float[] BuildTable()
    {
        var table = new float[(Steps + 1) * 2 * HalfTaps];
        for (var s = 0; s <= Steps; s++)
        {
            var fraction = (double)s / Steps;
            for (var k = 0; k < 2 * HalfTaps; k++)
            {
                var t = k - HalfTaps + 1 - fraction; // tap time relative to the exact delay, in (−8, 8]
                var window = Math.Abs(t) >= HalfTaps ? 0 : 0.5 * (1 + Math.Cos(Math.PI * t / HalfTaps));
                table[s * 2 * HalfTaps + k] = (float)(Sinc(t) * window);
            }
        }
        return table;
    }

    private static double Sinc(double t) => Math.Abs(t) < 1e-12 ? 1 : Math.Sin(Math.PI * t) / (Math.PI * t);
}
