using OnnxTransfer.Curves;
using OnnxTransfer.Tests.Imaging;

namespace OnnxTransfer.Tests.Curves;

public class RawPixelEncoderTests
{
    private static (byte R, byte G, byte B) Pixel(int x, int y) => ((byte)(x * 7 + y * 3), (byte)(200 - x * 2), (byte)((x * y) % 251));

    /// <summary>Independent PIL-style antialiased bilinear downscale along one axis: triangle of radius = scale around each output centre.</summary>
    private static double[] Weights(int inSize, int outSize, int o)
    {
        var scale = (double)inSize / outSize;
        var center = (o + 0.5) * scale;
        var w = new double[inSize];
        for (var j = 0; j < inSize; j++) w[j] = Math.Max(0, 1 - Math.Abs((j + 0.5 - center) / scale));
        var sum = w.Sum();
        return w.Select(v => v / sum).ToArray();
    }

    [Fact]
    public void Downsampled_pixels_match_an_independent_triangle_filter_in_rgb_planes()
    {
        using var dir = new TempDir();
        const int w = 48, h = 40, s = 8;
        var path = dir.File("ramp.bmp");
        File.WriteAllBytes(path, ImageFixtures.Bmp(w, h, Pixel));
        var encoder = new RawPixelEncoder(s);
        var actual = encoder.Encode(path);
        Assert.Equal(3 * s * s, actual.Length);
        Assert.Equal(new long[] { 3, s, s }, encoder.SampleShape);
        for (var c = 0; c < 3; c++)
            for (var oy = 0; oy < s; oy++)
            {
                var wy = Weights(h, s, oy);
                for (var ox = 0; ox < s; ox++)
                {
                    var wx = Weights(w, s, ox);
                    double expected = 0;
                    for (var y = 0; y < h; y++)
                        for (var x = 0; x < w; x++)
                        {
                            if (wx[x] == 0 || wy[y] == 0) continue;
                            var p = Pixel(x, y);
                            expected += wx[x] * wy[y] * (c == 0 ? p.R : c == 1 ? p.G : p.B);
                        }
                    Assert.Equal(expected / 255.0, actual[(c * s + oy) * s + ox], 4);
                }
            }
    }

    [Fact]
    public void Same_size_images_are_the_pixels_over_255()
    {
        using var dir = new TempDir();
        var path = dir.File("same.bmp");
        File.WriteAllBytes(path, ImageFixtures.Bmp(4, 4, Pixel));
        var actual = new RawPixelEncoder(4).Encode(path);
        for (var y = 0; y < 4; y++)
            for (var x = 0; x < 4; x++)
            {
                var p = Pixel(x, y);
                Assert.Equal(p.R / 255f, actual[0 * 16 + y * 4 + x], 5);
                Assert.Equal(p.G / 255f, actual[1 * 16 + y * 4 + x], 5);
                Assert.Equal(p.B / 255f, actual[2 * 16 + y * 4 + x], 5);
            }
    }
}
