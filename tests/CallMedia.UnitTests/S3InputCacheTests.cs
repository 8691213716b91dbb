using System.Globalization;
using CallMedia.Storage;

namespace CallMedia.UnitTests;

public sealed class S3InputCacheTests : IDisposable
{
    private readonly string _base = Path.Combine(Path.GetTempPath(), $"cm-inputs-{Guid.NewGuid():N}");

    public void Dispose() => Directory.Delete(_base, recursive: true);

    private string NodeFolder(int pid) =>
        Path.Combine(_base, $"node-{Environment.MachineName}-{pid.ToString(CultureInfo.InvariantCulture)}");

    [Fact]
    public void Start_SharedFolder_RemovesOnlyItsOwnAndGoneProcessesCopies()
    {
        // A live process of this host (this test's own parent chain always includes pid 1), a process that is gone,
        // another host's node, an operator's file, and a stale folder of this very process.
        var live = NodeFolder(1);
        var gone = NodeFolder(int.MaxValue - 7);
        var otherHost = Path.Combine(_base, "node-another-host-12345");
        var own = NodeFolder(Environment.ProcessId);
        foreach (var folder in new[] { live, gone, otherHost, own })
        {
            Directory.CreateDirectory(folder);
            File.WriteAllText(Path.Combine(folder, "copy.wav"), "bytes");
        }

        File.WriteAllText(Path.Combine(_base, "operator-notes.txt"), "keep me");

        var cache = new S3InputCache(_base, 1 << 20);

        Assert.Equal(own, cache.Folder);
        Assert.Empty(Directory.EnumerateFileSystemEntries(own));
        Assert.False(Directory.Exists(gone));
        Assert.True(File.Exists(Path.Combine(live, "copy.wav")));
        Assert.True(File.Exists(Path.Combine(otherHost, "copy.wav")));
        Assert.True(File.Exists(Path.Combine(_base, "operator-notes.txt")));
    }
}
