using CallMedia.Storage;

namespace CallMedia.UnitTests;

public sealed class EncryptedFormatTests : IDisposable
{
    private const int Chunk = EncryptedFormat.ChunkSize;

    private readonly string _data = StorageFixture.NewDataFolder();
    private readonly string _key1 = MasterKeys.NewKeyLine();
    private readonly string _key2 = MasterKeys.NewKeyLine();
    private readonly List<string> _keyFiles = [];

    public void Dispose()
    {
        Directory.Delete(_data, recursive: true);
        _keyFiles.ForEach(File.Delete);
    }

    private LocalMediaStorage Storage(params string[] keys)
    {
        var file = StorageFixture.KeyFile(keys);
        _keyFiles.Add(file);
        return StorageFixture.Encrypted(_data, file);
    }

    private static byte[] Plaintext(int length)
    {
        var bytes = new byte[length];
        new Random(length).NextBytes(bytes);
        return bytes;
    }

    private async Task<byte[]> StoreAsync(LocalMediaStorage storage, string name, byte[] plaintext)
    {
        var source = Path.Combine(_data, name + ".src");
        await File.WriteAllBytesAsync(source, plaintext);
        var (size, crc) = await storage.StoreAsync(source, name, CancellationToken.None);
        Assert.Equal(plaintext.Length, size);
        Assert.Equal(System.IO.Hashing.Crc32.HashToUInt32(plaintext), crc);
        return await File.ReadAllBytesAsync(Path.Combine(_data, "media", name));
    }

    /// <summary>A file of random bytes stored encrypted, opened for reading.</summary>
    private async Task<(Stream Stream, byte[] Plaintext)> OpenStoredAsync(string name, int length)
    {
        var storage = Storage(_key1);
        var plaintext = Plaintext(length);
        await StoreAsync(storage, name, plaintext);
        return (storage.OpenRead(name), plaintext);
    }

    /// <summary>Flips one bit of the stored chunk <paramref name="chunk"/>, <paramref name="at"/> bytes into it.</summary>
    private async Task FlipByteAsync(string name, int chunk, int at)
    {
        var path = Path.Combine(_data, "media", name);
        var bytes = await File.ReadAllBytesAsync(path);
        bytes[EncryptedFormat.HeaderSize + (chunk * (Chunk + EncryptedFormat.TagSize)) + at] ^= 0x01;
        await File.WriteAllBytesAsync(path, bytes);
    }

    private static async Task<byte[]> ReadAsync(LocalMediaStorage storage, string name, long from, int count)
    {
        await using var stream = storage.OpenRead(name);
        stream.Position = from;
        var buffer = new byte[count];
        var total = 0;
        int read;
        while (total < count && (read = await stream.ReadAsync(buffer.AsMemory(total))) > 0)
        {
            total += read;
        }

        return buffer[..total];
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(Chunk - 1)]
    [InlineData(Chunk)]
    [InlineData(Chunk + 1)]
    [InlineData((3 * Chunk) + 12345)]
    public async Task RoundTrip_AnyLength_ReadsBackThePlaintextWithPlaintextLength(int length)
    {
        var storage = Storage(_key1);
        var plaintext = Plaintext(length);
        var onDisk = await StoreAsync(storage, "a.wav", plaintext);

        Assert.Equal(EncryptedFormat.StoredLength(length), onDisk.Length);
        Assert.True(EncryptedFormat.IsEncrypted(onDisk));
        Assert.Equal(new StoredObject(length, default, true), storage.Stat("a.wav")! with { LastModified = default });
        Assert.Null(storage.PlainLocalPath("a.wav"));
        Assert.Equal(plaintext, await ReadAsync(storage, "a.wav", 0, length + 10));
        await using var sync = storage.OpenRead("a.wav");
        var copy = new MemoryStream();
        sync.CopyTo(copy); // the synchronous path reads the same
        Assert.Equal(plaintext, copy.ToArray());
    }

    [Fact]
    public async Task Read_RangesAtAndAcrossChunkBoundaries_EqualThePlaintextSlice()
    {
        var storage = Storage(_key1);
        var plaintext = Plaintext((4 * Chunk) + 100);
        await StoreAsync(storage, "b.mp3", plaintext);
        foreach (var (from, count) in new[] { (0L, 1), (Chunk - 1L, 2), (Chunk, Chunk), (Chunk - 7L, (2 * Chunk) + 14), ((4L * Chunk) + 99, 1), ((2L * Chunk) + 5, 3), (4L * Chunk, 100) })
        {
            Assert.Equal(plaintext.AsSpan((int)from, count).ToArray(), await ReadAsync(storage, "b.mp3", from, count));
        }
    }

    [Fact]
    public async Task Store_Encrypted_NoLongRunOfThePlaintextOnDisk()
    {
        var storage = Storage(_key1);
        var plaintext = new byte[5 * Chunk]; // silence: the most repetitive recording there is
        var onDisk = await StoreAsync(storage, "c.wav", plaintext);
        Assert.True(LongestZeroRun(onDisk) < 32, $"a run of {LongestZeroRun(onDisk)} zero bytes is on disk");
    }

    private static int LongestZeroRun(byte[] bytes)
    {
        int longest = 0, run = 0;
        foreach (var b in bytes)
        {
            run = b == 0 ? run + 1 : 0;
            longest = Math.Max(longest, run);
        }

        return longest;
    }

    [Fact]
    public async Task Read_FlippedByteInOneChunk_ThatChunkThrowsOthersRead()
    {
        var storage = Storage(_key1);
        var plaintext = Plaintext(3 * Chunk);
        await StoreAsync(storage, "d.wav", plaintext);
        var path = Path.Combine(_data, "media", "d.wav");
        var bytes = await File.ReadAllBytesAsync(path);
        bytes[EncryptedFormat.HeaderSize + Chunk + EncryptedFormat.TagSize + 10] ^= 0x01; // in chunk 1
        await File.WriteAllBytesAsync(path, bytes);

        Assert.Equal(plaintext.AsSpan(0, Chunk).ToArray(), await ReadAsync(storage, "d.wav", 0, Chunk));
        Assert.Equal(plaintext.AsSpan(2 * Chunk, Chunk).ToArray(), await ReadAsync(storage, "d.wav", 2 * Chunk, Chunk));
        var ex = await Assert.ThrowsAsync<MediaTamperedException>(() => ReadAsync(storage, "d.wav", Chunk + 3, 5));
        Assert.Contains("chunk 1", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ReadAsync_SequentialAcrossBatchesWithSeeksBetween_EqualsThePlaintext()
    {
        var length = (2 * DecryptingStream.BatchBytes) + (3 * Chunk) + 777;
        var (stream, plaintext) = await OpenStoredAsync("g.wav", length);
        await using var opened = stream;
        var buffer = new byte[Chunk];
        var random = new Random(7);

        // Reads of every size from wherever the last one ended, with jumps back and forward among them: each jump
        // leaves a batch read ahead behind, and must never return its bytes for another position.
        long position = 0;
        for (var i = 0; i < 400; i++)
        {
            if (i % 37 == 36)
            {
                position = random.NextInt64(length);
                stream.Position = position;
            }

            var want = random.Next(1, buffer.Length + 1);
            var read = await stream.ReadAsync(buffer.AsMemory(0, want));
            Assert.Equal((int)Math.Min(want, length - position), read);
            Assert.True(plaintext.AsSpan((int)position, read).SequenceEqual(buffer.AsSpan(0, read)), $"read {i} at {position}");
            position += read;
            if (position == length)
            {
                position = 0;
                stream.Position = 0;
            }
        }
    }

    [Fact]
    public async Task ReadAsync_FlippedByteInALaterBatch_EarlierBatchesReadThenThatChunkThrows()
    {
        var storage = Storage(_key1);
        var plaintext = Plaintext(3 * DecryptingStream.BatchBytes);
        await StoreAsync(storage, "h.wav", plaintext);
        var bad = (DecryptingStream.BatchBytes / Chunk) + 2; // the third chunk of the second batch
        await FlipByteAsync("h.wav", bad, 5);

        await using var stream = storage.OpenRead("h.wav");
        var buffer = new byte[Chunk];
        for (var i = 0; i < bad; i++)
        {
            Assert.Equal(Chunk, await stream.ReadAsync(buffer));
            Assert.True(plaintext.AsSpan(i * Chunk, Chunk).SequenceEqual(buffer), $"chunk {i}");
        }

        var ex = await Assert.ThrowsAsync<MediaTamperedException>(() => stream.ReadExactlyAsync(buffer).AsTask());
        Assert.Contains($"chunk {bad}", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ReadAsync_LargeBuffersFromAnywhere_DecryptInPlaceAndEqualThePlaintext()
    {
        var length = (2 * DecryptingStream.BatchBytes) + (5 * Chunk) + 1234;
        var (stream, plaintext) = await OpenStoredAsync("i.wav", length);
        await using var opened = stream;
        var buffer = new byte[(2 * DecryptingStream.BatchBytes) + 100];
        var random = new Random(11);

        // Sends read in pieces of up to a segment, from a range's start anywhere in a chunk; the pieces that start
        // at a chunk boundary are decrypted straight into the buffer, the rest through the kept chunk.
        for (var i = 0; i < 60; i++)
        {
            long position = i % 3 == 0 ? random.Next(length / Chunk) * (long)Chunk : random.NextInt64(length);
            stream.Position = position;
            var want = random.Next(DecryptingStream.InPlaceMinimum - Chunk, buffer.Length + 1);
            var read = await stream.ReadAsync(buffer.AsMemory(0, want));
            Assert.Equal((int)Math.Min(want, length - position), read);
            Assert.True(plaintext.AsSpan((int)position, read).SequenceEqual(buffer.AsSpan(0, read)), $"read {i} of {want} at {position}");
        }
    }

    [Theory]
    [InlineData(0)]
    [InlineData(5)] // in the half decrypted by the reading thread
    [InlineData(8)] // the first chunk of the half decrypted by the other thread
    [InlineData(11)]
    public async Task ReadAsync_LargeBufferOverAFlippedByte_ReturnsTheAuthenticChunksThenThatChunkThrows(int bad)
    {
        var storage = Storage(_key1);
        var plaintext = Plaintext(DecryptingStream.BatchBytes + (3 * Chunk));
        await StoreAsync(storage, "j.wav", plaintext);
        await FlipByteAsync("j.wav", bad, 9);

        await using var stream = storage.OpenRead("j.wav");
        var buffer = new byte[plaintext.Length];
        if (bad > 0)
        {
            Assert.Equal(bad * Chunk, await stream.ReadAsync(buffer));
            Assert.True(plaintext.AsSpan(0, bad * Chunk).SequenceEqual(buffer.AsSpan(0, bad * Chunk)));
        }

        var ex = await Assert.ThrowsAsync<MediaTamperedException>(() => stream.ReadAsync(buffer).AsTask());
        Assert.Contains($"chunk {bad}", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Read_TruncatedFile_Throws()
    {
        var storage = Storage(_key1);
        var plaintext = Plaintext((2 * Chunk) + 10);
        var onDisk = await StoreAsync(storage, "e.wav", plaintext);
        await File.WriteAllBytesAsync(Path.Combine(_data, "media", "e.wav"), onDisk[..(onDisk.Length - 20)]);
        await Assert.ThrowsAsync<MediaTamperedException>(() => ReadAsync(storage, "e.wav", 0, plaintext.Length));
    }

    [Fact]
    public async Task Read_ChunkMovedToAnotherPlace_Throws()
    {
        var storage = Storage(_key1);
        var onDisk = await StoreAsync(storage, "f.wav", Plaintext(3 * Chunk));
        var block = Chunk + EncryptedFormat.TagSize;
        var swapped = onDisk.ToArray();
        onDisk.AsSpan(EncryptedFormat.HeaderSize, block).CopyTo(swapped.AsSpan(EncryptedFormat.HeaderSize + block));
        await File.WriteAllBytesAsync(Path.Combine(_data, "media", "f.wav"), swapped);
        await Assert.ThrowsAsync<MediaTamperedException>(() => ReadAsync(storage, "f.wav", Chunk, 10));
    }

    [Fact]
    public async Task Open_WrongMasterKey_RefusesWithTheKeyId()
    {
        await StoreAsync(Storage(_key1), "g.wav", Plaintext(100));
        var id = MasterKeys.IdOf(Convert.FromBase64String(_key1));

        // At start: the files' key is not configured.
        var start = Assert.Throws<MediaKeyException>(() => Storage(_key2));
        Assert.Contains(id, start.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(_key1, start.Message, StringComparison.Ordinal);

        // And per file, should the record of keys in use be lost.
        File.Delete(Path.Combine(_data, "media", LocalMediaStorage.KeysInUseFile));
        var other = Storage(_key2);
        var ex = Assert.Throws<MediaKeyException>(() => other.OpenRead("g.wav"));
        Assert.Contains(id, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Open_AlteredLengthInHeader_Throws()
    {
        var onDisk = await StoreAsync(Storage(_key1), "h.wav", Plaintext(1000));
        onDisk[23] ^= 0x01; // the plaintext length, covered by the key wrap
        await File.WriteAllBytesAsync(Path.Combine(_data, "media", "h.wav"), onDisk);
        Assert.Throws<MediaTamperedException>(() => Storage(_key1).OpenRead("h.wav"));
    }

    [Fact]
    public async Task Rewrap_NewCurrentKey_ChunksUntouchedAndOldKeyNoLongerNeeded()
    {
        var plaintext = Plaintext(Chunk + 5);
        var before = await StoreAsync(Storage(_key1), "i.wav", plaintext);
        var both = Storage(_key2, _key1);
        Assert.True(await both.RewrapAsync("i.wav", CancellationToken.None));
        Assert.False(await both.RewrapAsync("i.wav", CancellationToken.None)); // resumable: done files are skipped
        both.SetKeysInUse([MasterKeys.IdOf(Convert.FromBase64String(_key2))]);
        var after = await File.ReadAllBytesAsync(Path.Combine(_data, "media", "i.wav"));
        Assert.Equal(before[EncryptedFormat.HeaderSize..], after[EncryptedFormat.HeaderSize..]);
        Assert.Equal(plaintext, await ReadAsync(Storage(_key2), "i.wav", 0, plaintext.Length));
        Assert.Throws<MediaKeyException>(() => Storage(_key1).OpenRead("i.wav"));
    }

    [Fact]
    public async Task EncryptInPlace_PlainFile_EncryptedOnceAndStillReadsWithPlaintextHash()
    {
        var plaintext = Plaintext((2 * Chunk) + 3);
        await File.WriteAllBytesAsync(Path.Combine(_data, "media", "j.mp3"), plaintext);
        var storage = Storage(_key1);
        var expected = (plaintext.LongLength, System.IO.Hashing.Crc32.HashToUInt32(plaintext));
        Assert.NotNull(storage.PlainLocalPath("j.mp3"));
        Assert.NotNull(storage.Stat("j.mp3")!.PlainPath);
        Assert.NotNull(storage.Stat("j.mp3")!.PlainPath); // known plain at this length and time: not read again
        Assert.True(await storage.EncryptInPlaceAsync("j.mp3", expected, CancellationToken.None));
        Assert.False(await storage.EncryptInPlaceAsync("j.mp3", expected, CancellationToken.None));
        Assert.Null(storage.PlainLocalPath("j.mp3"));
        Assert.Equal(new StoredObject(plaintext.LongLength, default, true), storage.Stat("j.mp3")! with { LastModified = default });
        Assert.Equal(expected, await storage.HashAsync("j.mp3", CancellationToken.None));
        Assert.Empty(Directory.GetFiles(Path.Combine(_data, "media", ".tmp")));
    }

    [Fact]
    public async Task EncryptInPlace_FileNotAsRecorded_LeftAlone()
    {
        var plaintext = Plaintext(500);
        var path = Path.Combine(_data, "media", "k.mp3");
        await File.WriteAllBytesAsync(path, plaintext);
        await Assert.ThrowsAsync<InvalidDataException>(() => Storage(_key1).EncryptInPlaceAsync("k.mp3", (500, 1), CancellationToken.None));
        Assert.Equal(plaintext, await File.ReadAllBytesAsync(path));
    }

    [Fact]
    public void CheckKeys_EncryptionOnWithoutKey_RefusesClearly()
    {
        var media = new MediaRoot(Path.Combine(_data, "media"));
        var ex = Assert.Throws<MediaKeyException>(() => LocalMediaStorage.CheckKeys(media, new StorageOptions { Encryption = "on" }, MasterKeys.None));
        Assert.Contains("no master key", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task CheckKeys_EncryptedFilesButNoKey_Refuses()
    {
        await StoreAsync(Storage(_key1), "l.wav", Plaintext(10));
        var media = new MediaRoot(Path.Combine(_data, "media"));
        Assert.Throws<MediaKeyException>(() => LocalMediaStorage.CheckKeys(media, new StorageOptions(), MasterKeys.None));
    }

    [Fact]
    public void Load_KeyFileReadableByOthers_Refused()
    {
        var file = StorageFixture.KeyFile(_key1);
        _keyFiles.Add(file);
        if (OperatingSystem.IsWindows())
        {
            return;
        }

        File.SetUnixFileMode(file, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead);
        var ex = Assert.Throws<MediaKeyException>(() => MasterKeys.Load(new StorageOptions { KeyFile = file }, new MediaRoot(Path.Combine(_data, "media"))));
        Assert.Contains("chmod 600", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_KeyFileInsideTheDataFolder_Refused()
    {
        var file = Path.Combine(_data, "master.key");
        using (var f = PrivateFile.Create(file))
        using (var w = new StreamWriter(f))
        {
            w.Write(_key1);
        }

        var ex = Assert.Throws<MediaKeyException>(() => MasterKeys.Load(new StorageOptions { KeyFile = file }, new MediaRoot(Path.Combine(_data, "media"))));
        Assert.Contains("inside the data folder", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_BadKeyLine_RefusedWithoutEchoingIt()
    {
        var file = StorageFixture.KeyFile("bm90LWEta2V5");
        _keyFiles.Add(file);
        var ex = Assert.Throws<MediaKeyException>(() => MasterKeys.Load(new StorageOptions { KeyFile = file }, new MediaRoot(Path.Combine(_data, "media"))));
        Assert.DoesNotContain("bm90LWEta2V5", ex.Message, StringComparison.Ordinal);
    }
}
