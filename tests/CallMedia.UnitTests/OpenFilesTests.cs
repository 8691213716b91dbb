using CallMedia.Storage;
using Microsoft.Extensions.Time.Testing;
using Microsoft.Win32.SafeHandles;

namespace CallMedia.UnitTests;

/// <summary>
/// Plain files kept open between deliveries: the next delivery of the same unchanged file reads the descriptor the
/// first one opened; a file changed, replaced or deleted is opened afresh or let go; a descriptor is closed once it is
/// neither kept nor read, and never while a delivery reads it.
/// </summary>
public sealed class OpenFilesTests : IDisposable
{
    private readonly string _data = StorageFixture.NewDataFolder();

    public void Dispose() => Directory.Delete(_data, recursive: true);

    private string Media => Path.Combine(_data, "media");

    private LocalMediaStorage Storage() => new(new MediaRoot(Media, []), new StorageOptions(), MasterKeys.None);

    private string Write(string name, byte fill, int length = 3000)
    {
        var path = Path.Combine(Media, name);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllBytes(path, Enumerable.Repeat(fill, length).ToArray());
        return path;
    }

    private static byte First(SafeFileHandle handle)
    {
        Span<byte> one = stackalloc byte[1];
        Assert.Equal(1, RandomAccess.Read(handle, one, 0));
        return one[0];
    }

    /// <summary>Delivers <paramref name="stored"/> once (opens it as a delivery does and is done with it); returns the descriptor it read.</summary>
    private static SafeFileHandle DeliveredOnce(LocalMediaStorage storage, string stored)
    {
        using var open = storage.OpenLooked(storage.Stat(stored)!)!;
        return open.Handle;
    }

    [SkippableTheory]
    [InlineData(false)]
    [InlineData(true)]
    public void TheNextDeliveryOfAFile_ReadsTheDescriptorTheFirstOneOpened_UnlessTheFileWasRewrittenInPlace(bool rewritten)
    {
        Skip.IfNot(FileIdentity.IsSupported, "descriptors are kept only where identities are exact (Linux)");
        var path = Write("day/call.mp3", 1);
        using var storage = Storage();
        var first = DeliveredOnce(storage, "day/call.mp3");
        if (rewritten)
        {
            File.WriteAllBytes(path, Enumerable.Repeat((byte)3, 3001).ToArray()); // another length: file times may be coarser than two writes apart
        }

        using var again = storage.OpenLooked(storage.Stat("day/call.mp3")!)!;
        Assert.Equal(!rewritten, ReferenceEquals(first, again.Handle));
        Assert.Equal(rewritten, first.IsClosed);
        Assert.Equal(rewritten ? 3 : 1, First(again.Handle));
    }

    [SkippableFact]
    public void AFileReplacedWhileADeliveryReadsIt_IsOpenedAfreshForTheNext_AndTheOldOneClosedWhenThatDeliveryEnds()
    {
        Skip.IfNot(FileIdentity.IsSupported, "descriptors are kept only where identities are exact (Linux)");
        var path = Write("call.mp3", 1);
        using var storage = Storage();
        var reading = storage.OpenLooked(storage.Stat("call.mp3")!)!;

        var replacement = Write("new.mp3", 2);
        File.Move(replacement, path, overwrite: true);
        using (var next = storage.OpenLooked(storage.Stat("call.mp3")!)!)
        {
            Assert.NotSame(reading.Handle, next.Handle);
            Assert.Equal(2, First(next.Handle));
        }

        var old = reading.Handle;
        Assert.Equal(1, First(old)); // still the file it started with
        reading.Dispose();
        Assert.True(old.IsClosed);
        Assert.Throws<ObjectDisposedException>(() => reading.Handle);
    }

    [SkippableTheory]
    [InlineData(false)]
    [InlineData(true)]
    public void AKeptFile_DeletedOrReplacedAfterItWasLookedAt_IsNotSent(bool replaced)
    {
        Skip.IfNot(FileIdentity.IsSupported, "descriptors are kept only where identities are exact (Linux)");
        var path = Write("call.mp3", 1);
        using var storage = Storage();
        var kept = DeliveredOnce(storage, "call.mp3");
        var looked = storage.Stat("call.mp3")!;

        File.Delete(path); // by another program: the storage is not told
        if (replaced)
        {
            Write("call.mp3", 2);
        }

        Assert.Null(storage.OpenLooked(looked));
        Assert.False(kept.IsClosed); // still kept under what it was: the next look finds another identity, or none
    }

    [SkippableFact]
    public void AFileTheStorageDeletes_IsClosedAtOnce()
    {
        Skip.IfNot(FileIdentity.IsSupported, "descriptors are kept only where identities are exact (Linux)");
        Write("call.mp3", 1);
        using var storage = Storage();
        var handle = DeliveredOnce(storage, "call.mp3");

        Assert.False(handle.IsClosed);
        storage.Delete("call.mp3");
        Assert.True(handle.IsClosed);
        Assert.Null(storage.Stat("call.mp3"));
    }

    [Fact]
    public void IdleDescriptors_AreClosed_ButNotWhileADeliveryReadsThem()
    {
        var path = Write("call.mp3", 1);
        var identity = FileIdentity.OfPath(path)!.Value;
        using var files = new OpenFiles();

        var idle = FileIdentity.OpenRead(path)!;
        files.Keep(path, identity, idle).Dispose();
        files.CloseIdle(TimeSpan.FromHours(1));
        Assert.False(idle.IsClosed); // not idle that long
        files.CloseIdle(TimeSpan.Zero);
        Assert.True(idle.IsClosed);
        Assert.Null(files.Take(path, identity));

        var read = FileIdentity.OpenRead(path)!;
        using (var delivery = files.Keep(path, identity, read))
        {
            files.CloseIdle(TimeSpan.Zero);
            Assert.Equal(0, files.Count);
            Assert.False(read.IsClosed);
            Assert.Equal(1, First(delivery.Handle));
        }

        Assert.True(read.IsClosed);
    }

    [Fact]
    public void TheSweep_ClosesAFileNoDeliveryTookForItsIdleTime_AndNothingIsKeptOnceDisposed()
    {
        var path = Write("call.mp3", 1);
        var identity = FileIdentity.OfPath(path)!.Value;
        var clock = new FakeTimeProvider();
        var files = new OpenFiles(clock);
        var handle = FileIdentity.OpenRead(path)!;
        files.Keep(path, identity, handle).Dispose();

        clock.Advance(OpenFiles.IdleTime / 2);
        files.Take(path, identity)!.Dispose(); // taken again: idle from now
        clock.Advance(OpenFiles.IdleTime / 2);
        Assert.False(handle.IsClosed);
        clock.Advance(OpenFiles.IdleTime);
        Assert.True(handle.IsClosed);
        Assert.Equal(0, files.Count);

        files.Dispose();
        var late = FileIdentity.OpenRead(path)!;
        files.Keep(path, identity, late).Dispose();
        Assert.True(late.IsClosed);
        Assert.Equal(0, files.Count);
    }

    [Fact]
    public void PastItsCapacity_AFileIsClosedAfterItsDelivery_AndOnlyTheIdentityItWasKeptUnderFindsOne()
    {
        var path = Write("call.mp3", 1);
        var identity = FileIdentity.OfPath(path)!.Value;
        var kept = new List<SafeFileHandle>();
        using var files = new OpenFiles();
        for (var i = 0; i < OpenFiles.Capacity; i++)
        {
            var handle = FileIdentity.OpenRead(path)!;
            kept.Add(handle);
            files.Keep($"{path}.{i}", identity, handle).Dispose();
        }

        var past = FileIdentity.OpenRead(path)!;
        files.Keep($"{path}.more", identity, past).Dispose();
        Assert.True(past.IsClosed);
        Assert.Equal(OpenFiles.Capacity, files.Count);
        Assert.Null(files.Take($"{path}.more", identity));
        Assert.Null(files.Take($"{path}.0", identity with { Size = identity.Size + 1 }));
        using (var found = files.Take($"{path}.0", identity))
        {
            Assert.Same(kept[0], found!.Handle);
        }

        files.Dispose();
        Assert.All(kept, h => Assert.True(h.IsClosed));
    }
}
