using CallMedia.Storage;

namespace CallMedia.UnitTests;

/// <summary>
/// A stored file known by its identity: a delivery that saw it before neither reads its first bytes nor follows the
/// links on its path again, so every way the file could change under that memory must be seen: another file linked in
/// its place (a file or a folder on its path swapped for a link out of the allowed folders), a new file renamed in, and
/// the same file rewritten with its length and time put back.
/// </summary>
public sealed class FileIdentityTests : IDisposable
{
    private readonly string _data = StorageFixture.NewDataFolder();
    private readonly string _allowed = Directory.CreateTempSubdirectory("callmedia-unit-allowed-").FullName;
    private readonly string _outside = Directory.CreateTempSubdirectory("callmedia-unit-outside-").FullName;

    public void Dispose()
    {
        foreach (var folder in (string[])[_data, _allowed, _outside])
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    private LocalMediaStorage Linking() =>
        new(new MediaRoot(Path.Combine(_data, "media"), [_allowed]), new StorageOptions(), MasterKeys.None);

    /// <summary>A recording linked in from a folder <c>day</c> of the allowed folder, returned with that folder.</summary>
    private (string Folder, string Linked) LinkedInADayFolder()
    {
        var folder = Path.Combine(_allowed, "day");
        Directory.CreateDirectory(folder);
        var linked = Path.Combine(folder, "call.mp3");
        File.WriteAllBytes(linked, Bytes(4000, 1));
        return (folder, linked);
    }

    private static byte[] Bytes(int length, int seed)
    {
        var bytes = new byte[length];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }

    [Fact]
    public void Identity_IsTheSameForThePathAndTheOpenFile_AndDiffersForAnotherFileOfTheSameLengthAndTime()
    {
        var a = Path.Combine(_allowed, "a.mp3");
        var b = Path.Combine(_allowed, "b.mp3");
        File.WriteAllBytes(a, Bytes(5000, 1));
        File.WriteAllBytes(b, Bytes(5000, 2));
        File.SetLastWriteTimeUtc(b, File.GetLastWriteTimeUtc(a));

        var ofPath = FileIdentity.OfPath(a);
        using (var handle = FileIdentity.OpenRead(a)!)
        {
            Assert.Equal(ofPath, FileIdentity.Of(handle));
        }

        Assert.Equal(5000, ofPath!.Value.Size);
        Assert.Equal(File.GetLastWriteTimeUtc(a), ofPath.Value.LastWriteTimeUtc);
        Assert.Null(FileIdentity.OfPath(Path.Combine(_allowed, "missing.mp3")));
        Assert.Null(FileIdentity.OfPath(Path.Combine(_allowed, "a.mp3", "below")));
        Assert.Null(FileIdentity.OfPath(_allowed));
        Assert.Null(FileIdentity.OpenRead(Path.Combine(_allowed, "missing.mp3")));
        if (FileIdentity.IsSupported)
        {
            Assert.NotEqual(ofPath, FileIdentity.OfPath(b));
        }
        else
        {
            // Without statx (not Linux, or refused by a sandbox) an identity is the length and time alone, and every
            // look follows the links on the path first.
            Assert.Equal(ofPath, FileIdentity.OfPath(b));
        }
    }

    [Fact]
    public void Identity_OfALinkLoopOrAFolderItCannotEnter_IsNoFile()
    {
        File.CreateSymbolicLink(Path.Combine(_allowed, "loop-a"), Path.Combine(_allowed, "loop-b"));
        File.CreateSymbolicLink(Path.Combine(_allowed, "loop-b"), Path.Combine(_allowed, "loop-a"));
        Assert.Null(FileIdentity.OfPath(Path.Combine(_allowed, "loop-a")));
        Assert.Null(FileIdentity.OpenRead(Path.Combine(_allowed, "loop-a")));
        Assert.Null(Linking().Stat(Path.Combine(_allowed, "loop-a")));
    }

    [SkippableFact]
    public void Identity_ChangesWhenTheFileIsRewrittenWithItsLengthAndTimePutBack()
    {
        Skip.IfNot(FileIdentity.IsSupported, "without statx an identity is the length and time alone");
        var a = Path.Combine(_allowed, "a.mp3");
        File.WriteAllBytes(a, Bytes(5000, 1));
        var modified = File.GetLastWriteTimeUtc(a);
        var before = FileIdentity.OfPath(a);

        using (var file = new FileStream(a, FileMode.Open, FileAccess.Write))
        {
            file.Write(Bytes(5000, 2));
        }

        File.SetLastWriteTimeUtc(a, modified);
        var after = FileIdentity.OfPath(a);
        Assert.Equal(before!.Value.Size, after!.Value.Size);
        Assert.Equal(before.Value.LastWriteTimeUtc, after.Value.LastWriteTimeUtc);
        Assert.NotEqual(before, after);
    }

    [Fact]
    public void LinkedFile_SwappedForALinkOutOfTheAllowedFolders_AfterItWasDelivered_IsRefused()
    {
        var linked = Path.Combine(_allowed, "call.mp3");
        File.WriteAllBytes(linked, Bytes(4000, 1));
        var secret = Path.Combine(_outside, "secret.mp3");
        File.WriteAllBytes(secret, Bytes(4000, 2));
        var storage = Linking();
        var first = storage.Stat(linked);
        Assert.NotNull(first);
        Assert.Equal(linked, first.PlainPath);

        File.Delete(linked);
        File.CreateSymbolicLink(linked, secret);

        var ex = Assert.Throws<InvalidDataException>(() => storage.Stat(linked));
        Assert.Contains("outside the media root and the allowed link folders", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void LinkedFile_WhoseFolderIsSwappedForALinkOutOfTheAllowedFolders_AfterItWasDelivered_IsRefused()
    {
        var (folder, linked) = LinkedInADayFolder();
        var elsewhere = Path.Combine(_outside, "day");
        Directory.CreateDirectory(elsewhere);
        File.WriteAllBytes(Path.Combine(elsewhere, "call.mp3"), Bytes(4000, 2));
        var storage = Linking();
        Assert.NotNull(storage.Stat(linked));

        Directory.Move(folder, Path.Combine(_allowed, "day-old"));
        Directory.CreateSymbolicLink(folder, elsewhere);

        Assert.Throws<InvalidDataException>(() => storage.Stat(linked));
    }

    [Fact]
    public void LinkedFile_WhoseFolderIsMovedOutAndLinkedBack_IsTheSameFileButNotSentFromThere()
    {
        // Moving a folder changes nothing of the files in it (same inode, same change time): the look remembers the
        // file, but the send checks where the file it opens really is.
        var (folder, linked) = LinkedInADayFolder();
        var storage = Linking();
        var first = storage.Stat(linked)!;
        using (var open = storage.OpenLooked(first))
        {
            Assert.NotNull(open);
        }

        var moved = Path.Combine(_outside, "day");
        Directory.Move(folder, moved);
        Directory.CreateSymbolicLink(folder, moved);

        Assert.Null(storage.OpenLooked(first));
        Assert.Null(storage.OpenLooked(storage.Stat(linked)!));
    }

    [Fact]
    public void RealPathOfAnOpenFile_FollowsTheFileWhenItsFolderMoves()
    {
        if (!OperatingSystem.IsLinux())
        {
            return;
        }

        var (folder, linked) = LinkedInADayFolder();
        using var handle = File.OpenHandle(linked);
        Assert.Equal(RealPath.Of(linked), FileIdentity.RealPathOf(handle));

        var moved = Path.Combine(_outside, "day");
        Directory.Move(folder, moved);
        var expected = Path.Combine(RealPath.Of(moved)!, "call.mp3");
        Assert.Equal(expected, FileIdentity.RealPathOf(handle));
        Span<char> into = stackalloc char[FileIdentity.PathMax];
        Assert.Equal(expected, new string(into[..FileIdentity.RealPathOf(handle, into)]));
    }

    [Fact]
    public void LookedFile_ReplacedBeforeItIsOpened_IsNotSent()
    {
        var linked = Path.Combine(_allowed, "call.mp3");
        File.WriteAllBytes(linked, Bytes(4000, 1));
        var storage = Linking();
        var looked = storage.Stat(linked)!;

        var replacement = Path.Combine(_allowed, "new.mp3");
        File.WriteAllBytes(replacement, Bytes(4000, 2));
        File.SetLastWriteTimeUtc(replacement, File.GetLastWriteTimeUtc(linked));
        File.Move(replacement, linked, overwrite: true);
        Assert.Null(storage.OpenLooked(looked));

        File.Delete(linked);
        Assert.Null(storage.OpenLooked(looked));
    }

    [Fact]
    public async Task LookedFile_ReplacedByAFifo_IsNotSentAndDoesNotBlock()
    {
        var linked = Path.Combine(_allowed, "call.mp3");
        File.WriteAllBytes(linked, Bytes(4000, 1));
        var storage = Linking();
        var looked = storage.Stat(linked)!;
        File.Delete(linked);
        using (var mkfifo = System.Diagnostics.Process.Start("mkfifo", linked))
        {
            await mkfifo.WaitForExitAsync();
            Assert.Equal(0, mkfifo.ExitCode);
        }

        Assert.Null(await Task.Run(() => storage.OpenLooked(looked)).WaitAsync(TimeSpan.FromSeconds(10)));
    }

    [Fact]
    public async Task PlainFile_ReplacedByAnEncryptedOneOfTheSameName_IsSeenEncrypted()
    {
        var keyFile = StorageFixture.KeyFile(MasterKeys.NewKeyLine());
        try
        {
            var plain = StorageFixture.Plain(_data);
            var encrypting = StorageFixture.Encrypted(_data, keyFile);
            var source = Path.Combine(_data, "src.mp3");
            await File.WriteAllBytesAsync(source, Bytes(3000, 1));
            await plain.StoreAsync(source, "c.mp3", CancellationToken.None);
            var before = encrypting.Stat("c.mp3");
            Assert.False(before!.Encrypted);
            Assert.NotNull(before.Identity);

            await encrypting.StoreAsync(source, "c.mp3", CancellationToken.None);
            var after = encrypting.Stat("c.mp3");
            Assert.True(after!.Encrypted);
            Assert.Null(after.PlainPath);
            Assert.Null(after.Identity);
            Assert.Equal(3000, after.Length);
        }
        finally
        {
            File.Delete(keyFile);
        }
    }
}
