using System.Buffers.Binary;
using System.Text;
using Microsoft.Win32.SafeHandles;

namespace OnnxTransfer.Runtime;

/// <summary>What a shared library's ELF dynamic section says about its dependencies.</summary>
/// <param name="Needed">DT_NEEDED entries in file order, e.g. <c>libcublasLt.so.13</c>.</param>
/// <param name="SoName">DT_SONAME, when present.</param>
/// <param name="RunPaths">DT_RUNPATH (or the older DT_RPATH) folders, unexpanded (<c>$ORIGIN</c> stays as is).</param>
internal sealed record ElfDependencies(IReadOnlyList<string> Needed, string? SoName, IReadOnlyList<string> RunPaths);

/// <summary>
/// Reads the dependencies of an ELF shared library (32/64-bit, either byte order) the way the dynamic loader finds
/// them: program headers → PT_DYNAMIC → DT_STRTAB mapped through the PT_LOAD segments. Only the headers, the dynamic
/// segment and the string table are read, so a 300 MB library costs a few kilobytes of I/O.
/// </summary>
internal static class ElfDynamicSection
{
    private const uint PtLoad = 1, PtDynamic = 2;
    private const long DtNull = 0, DtNeeded = 1, DtStrTab = 5, DtStrSz = 10, DtSoName = 14, DtRPath = 15, DtRunPath = 29;
    // Far above any real library (the CUDA provider has 40 dynamic entries, an 8 KB string table); stops hostile files early.
    private const int MaxProgramHeaders = 4096, MaxDynamicEntries = 65536, MaxStringTable = 64 << 20;

    /// <summary>Reads <paramref name="path"/>'s dynamic section.</summary>
    /// <exception cref="OnnxTransferException">The file is missing, unreadable or not a dynamically linked ELF file (one line naming it).</exception>
    public static ElfDependencies Read(string path)
    {
        try
        {
            using var handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.Read);
            return new Reader(handle, RandomAccess.GetLength(handle)).Read();
        }
        catch (InvalidDataException e)
        {
            throw new OnnxTransferException($"{path}: not a usable ELF shared library ({e.Message}).", e);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new OnnxTransferException($"{path}: cannot read it ({e.Message}).", e);
        }
    }

    private sealed class Reader(SafeFileHandle file, long length)
    {
        private bool _is64, _bigEndian;

        public ElfDependencies Read()
        {
            var ident = Bytes(0, 16);
            if (ident[0] != 0x7F || ident[1] != 'E' || ident[2] != 'L' || ident[3] != 'F') throw Bad("no ELF magic number");
            _is64 = ident[4] switch { 1 => false, 2 => true, _ => throw Bad($"unknown ELF class {ident[4]}") };
            _bigEndian = ident[5] switch { 1 => false, 2 => true, _ => throw Bad($"unknown byte order {ident[5]}") };

            var header = Bytes(0, _is64 ? 64 : 52);
            var phOff = _is64 ? U64(header, 32) : U32(header, 28);
            var phEntSize = U16(header, _is64 ? 54 : 42);
            var phNum = U16(header, _is64 ? 56 : 44);
            if (phNum == 0) throw Bad("no program headers");
            if (phNum > MaxProgramHeaders || phEntSize < (_is64 ? 56 : 32)) throw Bad("malformed program header table");

            var loads = new List<(ulong VAddr, ulong Offset, ulong FileSize)>();
            (ulong Offset, ulong Size)? dynamic = null;
            var table = Bytes(phOff, (long)phEntSize * phNum);
            for (var i = 0; i < phNum; i++)
            {
                var ph = table.AsSpan(i * phEntSize, phEntSize);
                var type = U32(ph, 0);
                var offset = _is64 ? U64(ph, 8) : U32(ph, 4);
                var vaddr = _is64 ? U64(ph, 16) : U32(ph, 8);
                var fileSize = _is64 ? U64(ph, 32) : U32(ph, 16);
                if (type == PtLoad) loads.Add((vaddr, offset, fileSize));
                else if (type == PtDynamic) dynamic = (offset, fileSize);
            }
            if (dynamic is not { } dyn) throw Bad("no dynamic segment (a static executable?)");

            var entrySize = _is64 ? 16 : 8;
            var count = (long)Math.Min(dyn.Size / (ulong)entrySize, MaxDynamicEntries);
            var entries = Bytes(dyn.Offset, count * entrySize);
            var needed = new List<ulong>();
            var runPaths = new List<ulong>();
            ulong? strTab = null, soName = null;
            ulong strSize = 0;
            for (var i = 0; i < count; i++)
            {
                var e = entries.AsSpan(i * entrySize, entrySize);
                var tag = _is64 ? (long)U64(e, 0) : (int)U32(e, 0);
                var value = _is64 ? U64(e, 8) : U32(e, 4);
                if (tag == DtNull) break;
                switch (tag)
                {
                    case DtNeeded: needed.Add(value); break;
                    case DtStrTab: strTab = value; break;
                    case DtStrSz: strSize = value; break;
                    case DtSoName: soName = value; break;
                    case DtRPath or DtRunPath: runPaths.Add(value); break;
                }
            }
            if (strTab is not { } strAddr) throw Bad("dynamic section has no string table");
            if (strSize == 0 || strSize > MaxStringTable) throw Bad($"string table size {strSize} out of range");

            // DT_STRTAB is a virtual address: find the loaded segment holding it to get the file offset.
            var segment = loads.FirstOrDefault(l => strAddr >= l.VAddr && strAddr - l.VAddr < l.FileSize);
            if (segment.FileSize == 0) throw Bad("string table lies outside every loaded segment");
            var strings = Bytes(segment.Offset + (strAddr - segment.VAddr), (long)strSize);

            return new ElfDependencies(
                needed.Select(n => String(strings, n)).ToArray(),
                soName is { } s ? String(strings, s) : null,
                runPaths.SelectMany(r => String(strings, r).Split(':', StringSplitOptions.RemoveEmptyEntries)).ToArray());
        }

        private static string String(byte[] table, ulong offset)
        {
            if (offset >= (ulong)table.Length) throw Bad($"string offset {offset} outside the string table");
            var span = table.AsSpan((int)offset);
            var end = span.IndexOf((byte)0);
            if (end < 0) throw Bad("unterminated string in the string table");
            return Encoding.UTF8.GetString(span[..end]);
        }

        private byte[] Bytes(ulong offset, long count) => Bytes(offset > long.MaxValue ? long.MaxValue : (long)offset, count);

        private byte[] Bytes(long offset, long count)
        {
            if (count < 0 || offset < 0 || offset > length || count > length - offset)
                throw Bad($"truncated ({count} bytes at offset {offset} are past the end of the {length}-byte file)");
            var buffer = new byte[count];
            var done = 0;
            while (done < count)
            {
                var n = RandomAccess.Read(file, buffer.AsSpan(done), offset + done);
                if (n == 0) throw Bad("truncated while reading");
                done += n;
            }
            return buffer;
        }

        private ushort U16(ReadOnlySpan<byte> b, int at) =>
            _bigEndian ? BinaryPrimitives.ReadUInt16BigEndian(b[at..]) : BinaryPrimitives.ReadUInt16LittleEndian(b[at..]);

        private uint U32(ReadOnlySpan<byte> b, int at) =>
            _bigEndian ? BinaryPrimitives.ReadUInt32BigEndian(b[at..]) : BinaryPrimitives.ReadUInt32LittleEndian(b[at..]);

        private ulong U64(ReadOnlySpan<byte> b, int at) =>
            _bigEndian ? BinaryPrimitives.ReadUInt64BigEndian(b[at..]) : BinaryPrimitives.ReadUInt64LittleEndian(b[at..]);

        private static InvalidDataException Bad(string why) => new(why);
    }
}
