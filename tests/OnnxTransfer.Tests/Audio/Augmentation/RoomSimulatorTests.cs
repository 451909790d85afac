using OnnxTransfer.Audio.Augmentation;
using OnnxTransfer.Training.Engine;

namespace OnnxTransfer.Tests.Audio.Augmentation;

public class RoomSimulatorTests
{
    private const int Rate = 16000;

    private static Room RoomFor(double w, double d, double h, double rt60) =>
        new(w, d, h, RoomSimulator.AbsorptionFor(w, d, h, rt60), new RoomPoint(w * 0.3, d * 0.6, 1.5), new RoomPoint(w * 0.55, d * 0.35, 1.1));

    // Tolerance ±12 %: over 300 random rooms (0.15–0.8 s) the measured T20 fell within −6.4..+8.7 % of the
    // request; the spread comes from the noise tail and the specular early part, and 12 % leaves margin
    // for other rooms while still catching a wrong decay rate (pure image sources are +40..+75 %).
    [Theory]
    [InlineData(3, 3, 2.4, 0.3)]
    [InlineData(3, 3, 2.4, 0.6)]
    [InlineData(5, 4, 3, 0.15)]
    [InlineData(5, 4, 3, 0.3)]
    [InlineData(8, 6, 3, 0.6)]
    [InlineData(10, 10, 4, 0.3)]
    [InlineData(10, 10, 4, 0.8)]
    [InlineData(4, 7, 2.5, 0.6)]
    public void Measured_rt60_matches_the_requested_one(double w, double d, double h, double rt60)
    {
        var ir = RoomSimulator.ImpulseResponse(RoomFor(w, d, h, rt60));
        Assert.InRange(RoomSimulator.MeasureRt60(ir, Rate) / rt60, 0.88, 1.12);
    }

    [Fact]
    public void Random_rooms_decay_at_their_eyring_rt60()
    {
        var rng = new SeededRandom(11);
        for (var i = 0; i < 20; i++)
        {
            var room = RoomSimulator.Random(rng);
            var measured = RoomSimulator.MeasureRt60(RoomSimulator.ImpulseResponse(room));
            Assert.InRange(measured / RoomSimulator.Rt60(room), 0.88, 1.12);
        }
    }

    [Fact]
    public void Absorption_for_inverts_eyring()
    {
        var room = RoomFor(6, 5, 2.8, 0.45);
        Assert.Equal(0.45, RoomSimulator.Rt60(room), 9);
        // Eyring by hand: 0.161·V / (−S·ln(1 − α)).
        var v = 6 * 5 * 2.8; var s = 2 * (30 + 6 * 2.8 + 5 * 2.8);
        Assert.Equal(0.45, 0.1611 * v / (-s * Math.Log(1 - room.Absorption)), 3);
    }

    [Theory]
    [InlineData(0.0, "must be positive")]
    [InlineData(-1.0, "must be positive")]
    [InlineData(0.01, "ask for at least")]
    public void Impossible_rt60_is_refused(double rt60, string hint)
    {
        var e = Assert.Throws<OnnxTransferException>(() => RoomSimulator.AbsorptionFor(10, 10, 4, rt60));
        Assert.Contains(hint, e.Message);
        Assert.Contains($"RT60 {rt60}", e.Message);
    }

    [Fact]
    public void Direct_sound_arrives_after_distance_over_c_with_amplitude_one()
    {
        // 2.14375 m is exactly 100 samples at 343 m/s, so the direct impulse lands on one sample.
        var mic = new RoomPoint(5, 5, 2);
        var room = new Room(10, 10, 4, 0.3, mic with { X = 5 + 2.14375 }, mic);
        var ir = RoomSimulator.ImpulseResponse(room);
        Assert.Equal(1.0, ir[100], 2);
        Assert.True(Tones.Peak(ir.AsSpan(0, 92)) < 1e-6, "nothing may arrive before the sound can travel");
        Assert.Equal(100, Array.IndexOf(ir, Tones.Peak(ir)));
    }

    [Fact]
    public void First_wall_reflection_has_amplitude_beta_times_d0_over_d()
    {
        // Width chosen so the image in the x = W wall is exactly 367 samples away (7.8675625 m) and isolated.
        var mic = new RoomPoint(5, 5, 2);
        var room = new Room(10.00565625, 10, 4, 0.3, mic with { X = 5 + 2.14375 }, mic);
        var ir = RoomSimulator.ImpulseResponse(room);
        Assert.Equal(Math.Sqrt(1 - 0.3) * 100 / 367, ir[367], 3);
    }

    // Diffuse-field theory: reverberant energy ≈ 4π·c·d0²/V · ∫ e^(−13.8·t/RT60) dt from the direct sound on,
    // relative to a direct path of energy 1. The specular early part runs 1–2 dB above theory; ±3 dB catches a
    // tail at the wrong level (which the T20 test alone would not, since a loud tail still decays at the right rate).
    [Theory]
    [InlineData(3, 3, 2.4, 0.3)]
    [InlineData(5, 4, 3, 0.6)]
    [InlineData(10, 10, 4, 0.4)]
    public void Reverberant_energy_matches_diffuse_theory(double w, double d, double h, double rt60)
    {
        var room = RoomFor(w, d, h, rt60);
        var ir = RoomSimulator.ImpulseResponse(room);
        var c = RoomSimulator.SpeedOfSound;
        var directTime = room.Distance / c;
        var decay = 6 * Math.Log(10) / rt60; // energy: 60 dB over RT60
        var tailEnd = ir.Length / (double)Rate;
        var theory = 4 * Math.PI * c * room.Distance * room.Distance / room.Volume / decay
            * (Math.Exp(-decay * directTime) - Math.Exp(-decay * tailEnd));
        var direct = (int)Math.Round(directTime * Rate);
        var reverberant = ir.Skip(direct + 9).Sum(v => (double)v * v);
        Assert.InRange(10 * Math.Log10(reverberant / theory), -3, 3);
    }

    [Theory]
    [InlineData(0.3)]
    [InlineData(1.7)]
    [InlineData(3.9)]
    public void Peak_sits_at_the_direct_path_delay(double distance)
    {
        var mic = new RoomPoint(3, 2.5, 1.2);
        var room = new Room(7, 5, 3, RoomSimulator.AbsorptionFor(7, 5, 3, 0.5), new RoomPoint(3 + distance * 0.8, 2.5 + distance * 0.6, 1.2), mic);
        var ir = RoomSimulator.ImpulseResponse(room);
        var expected = distance / RoomSimulator.SpeedOfSound * Rate;
        var peak = Array.IndexOf(ir, ir.Max());
        Assert.InRange(peak, expected - 1, expected + 1);
        Assert.InRange(ir.Length, (distance / 343 + 0.5) * Rate, (distance / 343 + 0.5) * Rate + 2);
    }

    [Fact]
    public void Same_room_gives_the_same_response()
    {
        Assert.Equal(RoomSimulator.ImpulseResponse(RoomFor(5, 4, 3, 0.4)), RoomSimulator.ImpulseResponse(RoomFor(5, 4, 3, 0.4)));
    }

    [Fact]
    public void Measure_rt60_reads_an_exact_exponential()
    {
        // h[n] = e^(−a·n): its Schroeder curve is exactly exponential, so T20 gives the true RT60.
        const double rt60 = 0.42;
        var a = 3 * Math.Log(10) / (rt60 * Rate);
        var ir = Enumerable.Range(0, Rate).Select(n => (float)Math.Exp(-a * n)).ToArray();
        Assert.Equal(rt60, RoomSimulator.MeasureRt60(ir, Rate), 3);
    }

    [Fact]
    public void Measure_rt60_refuses_a_response_that_barely_decays()
    {
        var flat = Enumerable.Repeat(0.5f, 1000).ToArray();
        Assert.Throws<OnnxTransferException>(() => RoomSimulator.MeasureRt60(flat.AsSpan(0, 10), Rate));
        Assert.Throws<OnnxTransferException>(() => RoomSimulator.MeasureRt60(new float[100], Rate));
    }

    [Fact]
    public void Reverberate_equals_a_direct_convolution_at_the_dry_peak()
    {
        var rng = new SeededRandom(3);
        var dry = Enumerable.Range(0, 700).Select(_ => (float)rng.NextGaussian() * 0.3f).ToArray();
        var ir = RoomSimulator.ImpulseResponse(RoomFor(3, 3, 2.4, 0.2))[..900];
        var wet = RoomSimulator.Reverberate(dry, ir);

        var naive = new double[dry.Length + ir.Length - 1];
        for (var i = 0; i < dry.Length; i++)
            for (var k = 0; k < ir.Length; k++) naive[i + k] += dry[i] * (double)ir[k];
        var scale = Tones.Peak(dry) / naive.Max(Math.Abs);

        Assert.Equal(naive.Length, wet.Length);
        Assert.Equal(Tones.Peak(dry), Tones.Peak(wet), 5);
        for (var i = 0; i < naive.Length; i++) Assert.Equal(naive[i] * scale, wet[i], 1e-5); // float FFT rounding
    }

    [Fact]
    public void Random_rooms_are_valid_and_reproducible()
    {
        var ranges = new RoomRanges();
        var a = new SeededRandom(5);
        var b = new SeededRandom(5);
        var rooms = new List<Room>();
        for (var i = 0; i < 300; i++)
        {
            var room = RoomSimulator.Random(a);
            Assert.Equal(room, RoomSimulator.Random(b));
            Assert.InRange(room.Width, ranges.MinLength, ranges.MaxLength);
            Assert.InRange(room.Depth, ranges.MinLength, ranges.MaxLength);
            Assert.InRange(room.Height, ranges.MinHeight, ranges.MaxHeight);
            Assert.InRange(RoomSimulator.Rt60(room), ranges.MinRt60 - 1e-9, ranges.MaxRt60 + 1e-9);
            Assert.InRange(room.Distance, ranges.MinDistance - 1e-9, ranges.MaxDistance + 1e-9);
            rooms.Add(room);
        }
        Assert.NotEqual(rooms[0], RoomSimulator.Random(new SeededRandom(6)));
        Assert.True(rooms.Select(r => r.Distance).Max() > 3, "distances should span the range");
    }

    [Fact]
    public void Bad_ranges_are_refused()
    {
        var e = Assert.Throws<OnnxTransferException>(() => RoomSimulator.Random(new SeededRandom(1), new RoomRanges { MinRt60 = 0.9, MaxRt60 = 0.3 }));
        Assert.Contains("RT60 0.9–0.3", e.Message);
    }
}
