using System.Buffers.Binary;
using System.Text;

namespace CallMedia.Delivery.Zip;

/// <summary>One stored (uncompressed) entry: its bytes come from a file or, for the manifest, from memory.</summary>
public sealed record ZipEntry(string Name, long Size, uint Crc32, DateTime ModifiedUtc, string? FilePath, byte[]? Content = null);

/// <summary>
/// The byte layout of a stored zip, computed before the first byte is sent: every offset, the central directory
/// and the end records are known from names, sizes and CRCs alone, so the archive has an exact length and any
/// byte range of it can be produced on demand. Zip64 is used only where a size, an offset or the entry count needs
/// it (APPNOTE 4.5.3); names are UTF-8 (general purpose bit 11).
/// </summary>
public sealed class ZipLayout
{
    private const uint LocalSignature = 0x04034b50;
    private const uint CentralSignature = 0x02014b50;
    private const uint EndSignature = 0x06054b50;
    private const uint Zip64EndSignature = 0x06064b50;
    private const uint Zip64LocatorSignature = 0x07064b50;
    private const ushort Utf8Flag = 0x0800;
    private const ushort UnixMadeBy = 3 << 8;
    private const int LocalFixed = 30;
    private const int CentralFixed = 46;
    private const int EndSize = 22;
    private const int Zip64EndSize = 56;
    private const int Zip64LocatorSize = 20;

    private readonly byte[][] _names;
    private readonly long[] _localOffsets;
    private readonly long[] _centralOffsets;
    private readonly bool[] _zip64;
    private readonly bool _zip64End;

    public ZipLayout(IReadOnlyList<ZipEntry> entries)
    {
        Entries = entries;
        var n = entries.Count;
        _names = new byte[n][];
        _localOffsets = new long[n];
        _centralOffsets = new long[n];
        _zip64 = new bool[n];
        long offset = 0;
        for (var i = 0; i < n; i++)
        {
            _names[i] = Encoding.UTF8.GetBytes(entries[i].Name);
            _localOffsets[i] = offset;
            _zip64[i] = entries[i].Size >= uint.MaxValue || offset >= uint.MaxValue;
            offset += LocalHeaderLength(i) + entries[i].Size;
        }

        CentralDirectoryOffset = offset;
        for (var i = 0; i < n; i++)
        {
            _centralOffsets[i] = offset;
            offset += CentralHeaderLength(i);
        }

        CentralDirectorySize = offset - CentralDirectoryOffset;
        _zip64End = n >= ushort.MaxValue || CentralDirectoryOffset >= uint.MaxValue || CentralDirectorySize >= uint.MaxValue;
        EndOffset = offset;
        Length = offset + (_zip64End ? Zip64EndSize + Zip64LocatorSize : 0) + EndSize;
    }

    public IReadOnlyList<ZipEntry> Entries { get; }

    public long Length { get; }

    public long CentralDirectoryOffset { get; }

    public long CentralDirectorySize { get; }

    private long EndOffset { get; }

    public long LocalHeaderOffset(int index) => _localOffsets[index];

    public long DataOffset(int index) => _localOffsets[index] + LocalHeaderLength(index);

    /// <summary>Index of the entry whose local header or data holds <paramref name="position"/>.</summary>
    public int EntryAt(long position) => FindLast(_localOffsets, position);

    /// <summary>Index of the central directory record that holds <paramref name="position"/>.</summary>
    public int CentralRecordAt(long position) => FindLast(_centralOffsets, position);

    public long CentralRecordOffset(int index) => _centralOffsets[index];

    public byte[] LocalHeader(int i)
    {
        var e = Entries[i];
        var name = _names[i];
        var extra = _zip64[i] ? 20 : 0;
        var b = new byte[LocalFixed + name.Length + extra];
        var s = b.AsSpan();
        BinaryPrimitives.WriteUInt32LittleEndian(s, LocalSignature);
        BinaryPrimitives.WriteUInt16LittleEndian(s[4..], VersionNeeded(i));
        BinaryPrimitives.WriteUInt16LittleEndian(s[6..], Utf8Flag);
        BinaryPrimitives.WriteUInt16LittleEndian(s[8..], 0);
        WriteDosTime(s[10..], e.ModifiedUtc);
        BinaryPrimitives.WriteUInt32LittleEndian(s[14..], e.Crc32);
        var size32 = _zip64[i] ? uint.MaxValue : (uint)e.Size;
        BinaryPrimitives.WriteUInt32LittleEndian(s[18..], size32);
        BinaryPrimitives.WriteUInt32LittleEndian(s[22..], size32);
        BinaryPrimitives.WriteUInt16LittleEndian(s[26..], (ushort)name.Length);
        BinaryPrimitives.WriteUInt16LittleEndian(s[28..], (ushort)extra);
        name.CopyTo(s[LocalFixed..]);
        if (_zip64[i])
        {
            var x = s[(LocalFixed + name.Length)..];
            BinaryPrimitives.WriteUInt16LittleEndian(x, 0x0001);
            BinaryPrimitives.WriteUInt16LittleEndian(x[2..], 16);
            BinaryPrimitives.WriteInt64LittleEndian(x[4..], e.Size);
            BinaryPrimitives.WriteInt64LittleEndian(x[12..], e.Size);
        }

        return b;
    }

    public byte[] CentralHeader(int i)
    {
        var e = Entries[i];
        var name = _names[i];
        var offsetOverflows = _localOffsets[i] >= uint.MaxValue;
        var extra = CentralExtraLength(i);
        var b = new byte[CentralFixed + name.Length + extra];
        var s = b.AsSpan();
        BinaryPrimitives.WriteUInt32LittleEndian(s, CentralSignature);
        BinaryPrimitives.WriteUInt16LittleEndian(s[4..], (ushort)(UnixMadeBy | VersionNeeded(i)));
        BinaryPrimitives.WriteUInt16LittleEndian(s[6..], VersionNeeded(i));
        BinaryPrimitives.WriteUInt16LittleEndian(s[8..], Utf8Flag);
        BinaryPrimitives.WriteUInt16LittleEndian(s[10..], 0);
        WriteDosTime(s[12..], e.ModifiedUtc);
        BinaryPrimitives.WriteUInt32LittleEndian(s[16..], e.Crc32);
        var size32 = _zip64[i] ? uint.MaxValue : (uint)e.Size;
        BinaryPrimitives.WriteUInt32LittleEndian(s[20..], size32);
        BinaryPrimitives.WriteUInt32LittleEndian(s[24..], size32);
        BinaryPrimitives.WriteUInt16LittleEndian(s[28..], (ushort)name.Length);
        BinaryPrimitives.WriteUInt16LittleEndian(s[30..], (ushort)extra);
        BinaryPrimitives.WriteUInt16LittleEndian(s[32..], 0);
        BinaryPrimitives.WriteUInt16LittleEndian(s[34..], 0);
        BinaryPrimitives.WriteUInt16LittleEndian(s[36..], 0);
        BinaryPrimitives.WriteUInt32LittleEndian(s[38..], 0x81A4u << 16); // regular file, rw-r--r--
        BinaryPrimitives.WriteUInt32LittleEndian(s[42..], offsetOverflows ? uint.MaxValue : (uint)_localOffsets[i]);
        name.CopyTo(s[CentralFixed..]);
        if (_zip64[i])
        {
            var x = s[(CentralFixed + name.Length)..];
            BinaryPrimitives.WriteUInt16LittleEndian(x, 0x0001);
            BinaryPrimitives.WriteUInt16LittleEndian(x[2..], (ushort)(extra - 4));
            BinaryPrimitives.WriteInt64LittleEndian(x[4..], e.Size);
            BinaryPrimitives.WriteInt64LittleEndian(x[12..], e.Size);
            if (offsetOverflows)
            {
                BinaryPrimitives.WriteInt64LittleEndian(x[20..], _localOffsets[i]);
            }
        }

        return b;
    }

    /// <summary>The Zip64 end record and locator (when needed) followed by the end of central directory record.</summary>
    public byte[] EndRecords()
    {
        var b = new byte[Length - EndOffset];
        var s = b.AsSpan();
        var count = Entries.Count;
        if (_zip64End)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(s, Zip64EndSignature);
            BinaryPrimitives.WriteInt64LittleEndian(s[4..], Zip64EndSize - 12);
            BinaryPrimitives.WriteUInt16LittleEndian(s[12..], UnixMadeBy | 45);
            BinaryPrimitives.WriteUInt16LittleEndian(s[14..], 45);
            BinaryPrimitives.WriteUInt32LittleEndian(s[16..], 0);
            BinaryPrimitives.WriteUInt32LittleEndian(s[20..], 0);
            BinaryPrimitives.WriteInt64LittleEndian(s[24..], count);
            BinaryPrimitives.WriteInt64LittleEndian(s[32..], count);
            BinaryPrimitives.WriteInt64LittleEndian(s[40..], CentralDirectorySize);
            BinaryPrimitives.WriteInt64LittleEndian(s[48..], CentralDirectoryOffset);
            var l = s[Zip64EndSize..];
            BinaryPrimitives.WriteUInt32LittleEndian(l, Zip64LocatorSignature);
            BinaryPrimitives.WriteUInt32LittleEndian(l[4..], 0);
            BinaryPrimitives.WriteInt64LittleEndian(l[8..], EndOffset);
            BinaryPrimitives.WriteUInt32LittleEndian(l[16..], 1);
            s = s[(Zip64EndSize + Zip64LocatorSize)..];
        }

        BinaryPrimitives.WriteUInt32LittleEndian(s, EndSignature);
        var count16 = (ushort)(_zip64End ? ushort.MaxValue : count);
        BinaryPrimitives.WriteUInt16LittleEndian(s[8..], count16);
        BinaryPrimitives.WriteUInt16LittleEndian(s[10..], count16);
        BinaryPrimitives.WriteUInt32LittleEndian(s[12..], _zip64End ? uint.MaxValue : (uint)CentralDirectorySize);
        BinaryPrimitives.WriteUInt32LittleEndian(s[16..], _zip64End ? uint.MaxValue : (uint)CentralDirectoryOffset);
        return b;
    }

    public long EndRecordsOffset => EndOffset;

    private ushort VersionNeeded(int i) => (ushort)(_zip64[i] ? 45 : 20);

    private int LocalHeaderLength(int i) => LocalFixed + _names[i].Length + (_zip64[i] ? 20 : 0);

    private int CentralExtraLength(int i) => _zip64[i] ? 4 + 16 + (_localOffsets[i] >= uint.MaxValue ? 8 : 0) : 0;

    private int CentralHeaderLength(int i) => CentralFixed + _names[i].Length + CentralExtraLength(i);

    private static int FindLast(long[] starts, long position)
    {
        var i = Array.BinarySearch(starts, position);
        return i >= 0 ? i : ~i - 1;
    }

    private static void WriteDosTime(Span<byte> s, DateTime t)
    {
        if (t.Year < 1980)
        {
            t = new DateTime(1980, 1, 1, 0, 0, 0, DateTimeKind.Utc);
        }

        BinaryPrimitives.WriteUInt16LittleEndian(s, (ushort)((t.Hour << 11) | (t.Minute << 5) | (t.Second / 2)));
        BinaryPrimitives.WriteUInt16LittleEndian(s[2..], (ushort)(((t.Year - 1980) << 9) | (t.Month << 5) | t.Day));
    }
}
