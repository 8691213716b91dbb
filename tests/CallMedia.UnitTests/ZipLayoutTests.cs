using System.IO.Compression;
using System.IO.Hashing;
using System.Text;
using CallMedia.Delivery.Zip;
using CallMedia.Storage;

namespace CallMedia.UnitTests;

public sealed class ZipLayoutTests
{
    private static readonly DateTime When = new(2026, 11, 16, 8, 30, 14, DateTimeKind.Utc);

    private static ZipEntry Memory(string name, string text)
    {
        var bytes = Encoding.UTF8.GetBytes(text);
        return new ZipEntry(name, bytes.Length, Crc32.HashToUInt32(bytes), When, null, bytes);
    }

    private static async Task<byte[]> ReadAllAsync(ZipLayout layout, IMediaStorage? storage = null)
    {
        await using var stream = new ZipStream(layout, storage ?? StorageFixture.Plain(StorageFixture.SharedDataFolder));
        using var copy = new MemoryStream();
        await stream.CopyToAsync(copy);
        return copy.ToArray();
    }

    [Fact]
    public async Task Layout_SmallArchive_OpensWithUtf8NamesAndExactLength()
    {
        var layout = new ZipLayout([Memory("calldata.txt", "header\n"), Memory("1001_Jiří Novák.mp3", "audio bytes")]);
        var bytes = await ReadAllAsync(layout);

        Assert.Equal(layout.Length, bytes.Length);
        using var zip = new ZipArchive(new MemoryStream(bytes));
        Assert.Equal(["calldata.txt", "1001_Jiří Novák.mp3"], zip.Entries.Select(e => e.FullName));
        using var reader = new StreamReader(zip.Entries[1].Open());
        Assert.Equal("audio bytes", await reader.ReadToEndAsync());
        Assert.Equal(0x0800, BitConverter.ToUInt16(bytes, 6)); // general purpose flag: UTF-8 names, sizes in the local header
        Assert.Equal(0, BitConverter.ToUInt16(bytes, 8)); // stored
    }

    [Fact]
    public async Task Layout_RangeFromTheMiddle_EqualsSliceOfWhole()
    {
        var layout = new ZipLayout(Enumerable.Range(0, 50).Select(i => Memory($"f{i}.txt", new string((char)('a' + (i % 26)), 100 + i))).ToList());
        var whole = await ReadAllAsync(layout);
        await using var stream = new ZipStream(layout, StorageFixture.Plain(StorageFixture.SharedDataFolder));
        foreach (var start in new[] { 0L, 1, 29, 30, 777, layout.CentralDirectoryOffset - 3, layout.CentralDirectoryOffset + 50, layout.Length - 10 })
        {
            stream.Position = start;
            var buffer = new byte[(int)Math.Min(300, layout.Length - start)];
            var read = 0;
            while (read < buffer.Length)
            {
                read += await stream.ReadAsync(buffer.AsMemory(read));
            }

            Assert.Equal(whole.AsSpan((int)start, buffer.Length).ToArray(), buffer);
        }
    }

    [Fact]
    public async Task Layout_MoreThan65535Entries_UsesZip64EndRecords()
    {
        var entries = Enumerable.Range(0, 70_000).Select(i => Memory($"{i}.txt", "x")).ToList();
        var layout = new ZipLayout(entries);
        var bytes = await ReadAllAsync(layout);

        using var zip = new ZipArchive(new MemoryStream(bytes));
        Assert.Equal(70_000, zip.Entries.Count);
        Assert.Equal(0x06064b50u, BitConverter.ToUInt32(bytes, (int)layout.Length - 22 - 20 - 56));
        Assert.Equal(0xFFFF, BitConverter.ToUInt16(bytes, (int)layout.Length - 22 + 10));
    }

    [Fact]
    public void Layout_EntryPast4GiB_GetsZip64ExtraInLocalAndCentralHeaders()
    {
        const long big = 5L * 1024 * 1024 * 1024;
        var layout = new ZipLayout(
        [
            new ZipEntry("big.mp4", big, 0x12345678, When, "/dev/null"),
            new ZipEntry("after.mp3", 10, 0x1, When, "/dev/null"),
        ]);

        var local = layout.LocalHeader(0);
        Assert.Equal(45, BitConverter.ToUInt16(local, 4));
        Assert.Equal(uint.MaxValue, BitConverter.ToUInt32(local, 18));
        Assert.Equal(0x0001, BitConverter.ToUInt16(local, 30 + 7));
        Assert.Equal(big, BitConverter.ToInt64(local, 30 + 7 + 4));

        var afterCentral = layout.CentralHeader(1);
        Assert.Equal(uint.MaxValue, BitConverter.ToUInt32(afterCentral, 42)); // its offset needs Zip64
        Assert.Equal(layout.LocalHeaderOffset(1), BitConverter.ToInt64(afterCentral, 46 + 9 + 4 + 16));
    }

    [Fact]
    public async Task ZipStream_FileShorterThanRecorded_Throws()
    {
        var data = StorageFixture.NewDataFolder();
        var storage = StorageFixture.Plain(data);
        await File.WriteAllTextAsync(Path.Combine(data, "media", "a.mp3"), "short");
        try
        {
            var layout = new ZipLayout([new ZipEntry("a.mp3", 100, 0, When, "a.mp3")]);
            await Assert.ThrowsAsync<IOException>(() => ReadAllAsync(layout, storage));
        }
        finally
        {
            Directory.Delete(data, recursive: true);
        }
    }
}
