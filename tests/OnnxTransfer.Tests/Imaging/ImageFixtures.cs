using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;
using SkiaSharp;

namespace OnnxTransfer.Tests.Imaging;

/// <summary>Builds test images at run time (never committed): hand-written PNG/BMP/GIF files, EXIF JPEGs.</summary>
internal static class ImageFixtures
{
    /// <summary>A PNG from raw scanlines (filter type 0 is prepended to each row).</summary>
    public static byte[] Png(int width, int height, byte colorType, byte bitDepth, byte[] rows, byte[]? plte = null, byte[]? trns = null)
    {
        var stride = rows.Length / height;
        var filtered = new byte[(stride + 1) * height];
        for (var y = 0; y < height; y++)
            Array.Copy(rows, y * stride, filtered, y * (stride + 1) + 1, stride);
        using var ms = new MemoryStream();
        ms.Write([0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A]);
        var ihdr = new byte[13];
        BinaryPrimitives.WriteInt32BigEndian(ihdr, width);
        BinaryPrimitives.WriteInt32BigEndian(ihdr.AsSpan(4), height);
        ihdr[8] = bitDepth;
        ihdr[9] = colorType;
        Chunk(ms, "IHDR", ihdr);
        if (plte is not null) Chunk(ms, "PLTE", plte);
        if (trns is not null) Chunk(ms, "tRNS", trns);
        Chunk(ms, "IDAT", Zlib(filtered));
        Chunk(ms, "IEND", []);
        return ms.ToArray();
    }

    /// <summary>A valid-looking PNG whose header claims <paramref name="width"/> x <paramref name="height"/> but holds a few bytes of data.</summary>
    public static byte[] PngHeaderOnly(int width, int height)
    {
        using var ms = new MemoryStream();
        ms.Write([0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A]);
        var ihdr = new byte[13];
        BinaryPrimitives.WriteInt32BigEndian(ihdr, width);
        BinaryPrimitives.WriteInt32BigEndian(ihdr.AsSpan(4), height);
        ihdr[8] = 8;
        ihdr[9] = 2;
        Chunk(ms, "IHDR", ihdr);
        Chunk(ms, "IDAT", Zlib(new byte[64]));
        Chunk(ms, "IEND", []);
        return ms.ToArray();
    }

    private static void Chunk(Stream s, string type, byte[] data)
    {
        Span<byte> len = stackalloc byte[4];
        BinaryPrimitives.WriteInt32BigEndian(len, data.Length);
        s.Write(len);
        var typed = Encoding.ASCII.GetBytes(type).Concat(data).ToArray();
        s.Write(typed);
        BinaryPrimitives.WriteUInt32BigEndian(len, Crc32(typed));
        s.Write(len);
    }

    private static byte[] Zlib(byte[] data)
    {
        using var ms = new MemoryStream();
        using (var z = new ZLibStream(ms, CompressionLevel.Fastest, leaveOpen: true))
            z.Write(data);
        return ms.ToArray();
    }

    private static uint Crc32(byte[] data)
    {
        var crc = 0xFFFFFFFFu;
        foreach (var b in data)
        {
            crc ^= b;
            for (var k = 0; k < 8; k++)
                crc = (crc & 1) != 0 ? (crc >> 1) ^ 0xEDB88320u : crc >> 1;
        }
        return ~crc;
    }

    /// <summary>A 24-bit bottom-up BMP; <paramref name="pixel"/> gives (r,g,b) at (x,y).</summary>
    public static byte[] Bmp(int width, int height, Func<int, int, (byte R, byte G, byte B)> pixel)
    {
        var stride = (width * 3 + 3) & ~3;
        var data = new byte[54 + stride * height];
        data[0] = (byte)'B'; data[1] = (byte)'M';
        BinaryPrimitives.WriteInt32LittleEndian(data.AsSpan(2), data.Length);
        BinaryPrimitives.WriteInt32LittleEndian(data.AsSpan(10), 54);
        BinaryPrimitives.WriteInt32LittleEndian(data.AsSpan(14), 40);
        BinaryPrimitives.WriteInt32LittleEndian(data.AsSpan(18), width);
        BinaryPrimitives.WriteInt32LittleEndian(data.AsSpan(22), height);
        BinaryPrimitives.WriteInt16LittleEndian(data.AsSpan(26), 1);
        BinaryPrimitives.WriteInt16LittleEndian(data.AsSpan(28), 24);
        BinaryPrimitives.WriteInt32LittleEndian(data.AsSpan(34), stride * height);
        for (var y = 0; y < height; y++)
            for (var x = 0; x < width; x++)
            {
                var (r, g, b) = pixel(x, y);
                var i = 54 + (height - 1 - y) * stride + x * 3;
                data[i] = b; data[i + 1] = g; data[i + 2] = r;
            }
        return data;
    }

    /// <summary>
    /// A GIF with a 4-colour global palette and one frame per index array (width*height palette indices).
    /// LZW is written literal-only (a clear code before the table would grow past 3-bit codes).
    /// </summary>
    public static byte[] Gif(int width, int height, byte[] palette, params byte[][] frames)
    {
        using var ms = new MemoryStream();
        ms.Write("GIF89a"u8);
        Span<byte> u16 = stackalloc byte[2];
        BinaryPrimitives.WriteUInt16LittleEndian(u16, (ushort)width); ms.Write(u16);
        BinaryPrimitives.WriteUInt16LittleEndian(u16, (ushort)height); ms.Write(u16);
        ms.WriteByte(0x80 | 0x01); // global colour table, 2^(1+1) = 4 entries
        ms.WriteByte(0);
        ms.WriteByte(0);
        ms.Write(palette.AsSpan(0, 12));
        foreach (var frame in frames)
        {
            ms.Write([0x21, 0xF9, 4, 0, 10, 0, 0, 0]); // graphic control: 100 ms, no transparency
            ms.WriteByte(0x2C);
            ms.Write([0, 0, 0, 0]);
            BinaryPrimitives.WriteUInt16LittleEndian(u16, (ushort)width); ms.Write(u16);
            BinaryPrimitives.WriteUInt16LittleEndian(u16, (ushort)height); ms.Write(u16);
            ms.WriteByte(0);
            const int minCodeSize = 2, clear = 4, end = 5;
            ms.WriteByte(minCodeSize);
            var bits = new List<bool>();
            void Emit(int code) { for (var b = 0; b < 3; b++) bits.Add(((code >> b) & 1) != 0); }
            // Code size 3 covers codes 0..7; after a clear, the table holds 6 entries and each literal adds one,
            // so clear again every 2 literals to stay at 3 bits.
            for (var i = 0; i < frame.Length; i++)
            {
                if (i % 2 == 0) Emit(clear);
                Emit(frame[i]);
            }
            Emit(end);
            var bytes = new byte[(bits.Count + 7) / 8];
            for (var i = 0; i < bits.Count; i++)
                if (bits[i]) bytes[i / 8] |= (byte)(1 << (i % 8));
            for (var i = 0; i < bytes.Length; i += 255)
            {
                var n = Math.Min(255, bytes.Length - i);
                ms.WriteByte((byte)n);
                ms.Write(bytes, i, n);
            }
            ms.WriteByte(0);
        }
        ms.WriteByte(0x3B);
        return ms.ToArray();
    }

    /// <summary>Encodes <paramref name="bitmap"/> as JPEG and inserts an EXIF APP1 segment with the given orientation.</summary>
    public static byte[] JpegWithOrientation(SKBitmap bitmap, int orientation, int quality = 95)
    {
        var jpeg = bitmap.Encode(SKEncodedImageFormat.Jpeg, quality).ToArray();
        // TIFF little-endian header + IFD0 with one entry: Orientation (0x0112), SHORT, count 1.
        var tiff = new byte[8 + 2 + 12 + 4];
        "II"u8.CopyTo(tiff);
        BinaryPrimitives.WriteUInt16LittleEndian(tiff.AsSpan(2), 42);
        BinaryPrimitives.WriteUInt32LittleEndian(tiff.AsSpan(4), 8);
        BinaryPrimitives.WriteUInt16LittleEndian(tiff.AsSpan(8), 1);
        BinaryPrimitives.WriteUInt16LittleEndian(tiff.AsSpan(10), 0x0112);
        BinaryPrimitives.WriteUInt16LittleEndian(tiff.AsSpan(12), 3);
        BinaryPrimitives.WriteUInt32LittleEndian(tiff.AsSpan(14), 1);
        BinaryPrimitives.WriteUInt16LittleEndian(tiff.AsSpan(18), (ushort)orientation);
        var payload = "Exif\0\0"u8.ToArray().Concat(tiff).ToArray();
        var app1 = new byte[4 + payload.Length];
        app1[0] = 0xFF; app1[1] = 0xE1;
        BinaryPrimitives.WriteUInt16BigEndian(app1.AsSpan(2), (ushort)(payload.Length + 2));
        payload.CopyTo(app1, 4);
        // After SOI (FF D8); Skia's encoder may have written a JFIF APP0 first, which is fine before APP1.
        return jpeg[..2].Concat(app1).Concat(jpeg[2..]).ToArray();
    }

    /// <summary>A bitmap with four solid quadrants: top-left red, top-right green, bottom-left blue, bottom-right yellow.</summary>
    public static SKBitmap Quadrants(int width, int height)
    {
        var bitmap = new SKBitmap(new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Opaque));
        using var canvas = new SKCanvas(bitmap);
        using var paint = new SKPaint();
        void Fill(SKColor c, float x, float y) { paint.Color = c; canvas.DrawRect(x, y, width / 2f, height / 2f, paint); }
        Fill(SKColors.Red, 0, 0);
        Fill(new SKColor(0, 255, 0), width / 2f, 0);
        Fill(SKColors.Blue, 0, height / 2f);
        Fill(SKColors.Yellow, width / 2f, height / 2f);
        return bitmap;
    }
}
