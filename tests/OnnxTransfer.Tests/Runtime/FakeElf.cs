using System.Buffers.Binary;
using System.Text;

namespace OnnxTransfer.Tests.Runtime;

/// <summary>
/// Writes a minimal ELF shared library header: one PT_LOAD segment (at a virtual address different from its file
/// offset, so address mapping is exercised), a PT_DYNAMIC segment and a string table. No code; enough for a reader.
/// </summary>
internal static class FakeElf
{
    private const ulong Base = 0x10000;

    public static byte[] Build(IReadOnlyList<string> needed, string? soName = null, string? runPath = null, bool is64 = true, bool bigEndian = false)
    {
        var ehSize = is64 ? 64 : 52;
        var phSize = is64 ? 56 : 32;
        var dynSize = is64 ? 16 : 8;

        var strings = new MemoryStream();
        strings.WriteByte(0);
        ulong Add(string s) { var at = (ulong)strings.Length; var b = Encoding.UTF8.GetBytes(s); strings.Write(b); strings.WriteByte(0); return at; }
        var entries = new List<(long Tag, ulong Value)>();
        foreach (var n in needed) entries.Add((1, Add(n)));
        if (soName is not null) entries.Add((14, Add(soName)));
        if (runPath is not null) entries.Add((29, Add(runPath)));
        var strOff = ehSize + 2 * phSize;
        var strBytes = strings.ToArray();
        entries.Add((5, Base + (ulong)strOff));
        entries.Add((10, (ulong)strBytes.Length));
        entries.Add((0, 0));
        var dynOff = (strOff + strBytes.Length + 7) / 8 * 8;
        var total = dynOff + entries.Count * dynSize;

        var file = new byte[total];
        var w = new Writer(file, bigEndian);
        file[0] = 0x7F; file[1] = (byte)'E'; file[2] = (byte)'L'; file[3] = (byte)'F';
        file[4] = (byte)(is64 ? 2 : 1); file[5] = (byte)(bigEndian ? 2 : 1); file[6] = 1;
        w.U16(16, 3); // ET_DYN
        w.U16(18, is64 ? (ushort)62 : (ushort)3);
        w.U32(20, 1);
        if (is64) { w.U64(32, (ulong)ehSize); w.U16(52, (ushort)ehSize); w.U16(54, (ushort)phSize); w.U16(56, 2); }
        else { w.U32(28, (uint)ehSize); w.U16(40, (ushort)ehSize); w.U16(42, (ushort)phSize); w.U16(44, 2); }

        void Phdr(int at, uint type, ulong offset, ulong vaddr, ulong size)
        {
            w.U32(at, type);
            if (is64) { w.U32(at + 4, 4); w.U64(at + 8, offset); w.U64(at + 16, vaddr); w.U64(at + 24, vaddr); w.U64(at + 32, size); w.U64(at + 40, size); w.U64(at + 48, 8); }
            else { w.U32(at + 4, (uint)offset); w.U32(at + 8, (uint)vaddr); w.U32(at + 12, (uint)vaddr); w.U32(at + 16, (uint)size); w.U32(at + 20, (uint)size); w.U32(at + 24, 4); w.U32(at + 28, 4); }
        }
        Phdr(ehSize, 1, 0, Base, (ulong)total);
        Phdr(ehSize + phSize, 2, (ulong)dynOff, Base + (ulong)dynOff, (ulong)(entries.Count * dynSize));
        strBytes.CopyTo(file, strOff);
        for (var i = 0; i < entries.Count; i++)
        {
            var at = dynOff + i * dynSize;
            if (is64) { w.U64(at, (ulong)entries[i].Tag); w.U64(at + 8, entries[i].Value); }
            else { w.U32(at, (uint)entries[i].Tag); w.U32(at + 4, (uint)entries[i].Value); }
        }
        return file;
    }

    public static string Write(string folder, string name, IReadOnlyList<string> needed)
    {
        var path = Path.Combine(folder, name);
        File.WriteAllBytes(path, Build(needed));
        return path;
    }

    private sealed class Writer(byte[] b, bool bigEndian)
    {
        public void U16(int at, ushort v) { if (bigEndian) BinaryPrimitives.WriteUInt16BigEndian(b.AsSpan(at), v); else BinaryPrimitives.WriteUInt16LittleEndian(b.AsSpan(at), v); }
        public void U32(int at, uint v) { if (bigEndian) BinaryPrimitives.WriteUInt32BigEndian(b.AsSpan(at), v); else BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(at), v); }
        public void U64(int at, ulong v) { if (bigEndian) BinaryPrimitives.WriteUInt64BigEndian(b.AsSpan(at), v); else BinaryPrimitives.WriteUInt64LittleEndian(b.AsSpan(at), v); }
    }
}
