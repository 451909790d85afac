using OnnxTransfer.Audio.Augmentation;

namespace OnnxTransfer.Tests.Audio.Augmentation;

public class RoomTests
{
    private static readonly RoomPoint Talker = new(1, 1, 1.5), Mic = new(3, 2, 1);

    [Fact]
    public void Derived_sizes_follow_from_the_dimensions()
    {
        var room = new Room(5, 4, 3, 0.2, Talker, Mic);
        Assert.Equal(60, room.Volume, 9);
        Assert.Equal(2 * (20 + 15 + 12), room.Surface, 9);
        Assert.Equal(Math.Sqrt(4 + 1 + 0.25), room.Distance, 9);
        Assert.Equal(0.5, room.WithAbsorption(0.5).Absorption);
    }

    [Theory]
    [InlineData(0.0, "absorption")]
    [InlineData(1.0, "absorption")]
    [InlineData(double.NaN, "absorption")]
    public void Absorption_outside_zero_one_is_refused(double absorption, string named)
    {
        var e = Assert.Throws<OnnxTransferException>(() => new Room(5, 4, 3, absorption, Talker, Mic));
        Assert.Contains(named, e.Message);
    }

    [Fact]
    public void Non_positive_size_is_refused()
    {
        var e = Assert.Throws<OnnxTransferException>(() => new Room(-5, 4, 3, 0.2, Talker, Mic));
        Assert.Contains("width -5", e.Message);
    }

    [Theory]
    [InlineData(0.05, 1, 1)]   // closer than 0.1 m to a wall
    [InlineData(1, 3.95, 1)]
    [InlineData(1, 1, 3.5)]    // above the ceiling
    public void Positions_near_or_outside_the_walls_are_refused(double x, double y, double z)
    {
        var e = Assert.Throws<OnnxTransferException>(() => new Room(5, 4, 3, 0.2, new RoomPoint(x, y, z), Mic));
        Assert.Contains("source", e.Message);
        Assert.Contains("0.1 m from every wall", e.Message);
    }

    [Fact]
    public void Source_on_the_microphone_is_refused()
    {
        var e = Assert.Throws<OnnxTransferException>(() => new Room(5, 4, 3, 0.2, Mic, Mic with { X = 3.05 }));
        Assert.Contains("move them apart", e.Message);
    }
}
