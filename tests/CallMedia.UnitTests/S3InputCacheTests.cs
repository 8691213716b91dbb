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
    public void Start_SharedFolder_RemovesOnlyGoneProcessesCopies()
    {
        // A live process of this host (pid 1 always runs), a process that is gone, another host's node, an operator's
        // file, and another server's cache in this very process (in use: kept).
        var live = NodeFolder(1);
        var gone = NodeFolder(int.MaxValue - 7) + "-0123abcd";
        var otherHost = Path.Combine(_base, "node-another-host-12345");
        var own = NodeFolder(Environment.ProcessId) + "-other";
        foreach (var folder in new[] { live, gone, otherHost, own })
        {
            Directory.CreateDirectory(folder);
            File.WriteAllText(Path.Combine(folder, "copy.wav"), "bytes");
        }

        File.WriteAllText(Path.Combine(_base, "operator-notes.txt"), "keep me");

        var cache = new S3InputCache(_base, 1 << 20);

        Assert.StartsWith(NodeFolder(Environment.ProcessId) + "-", cache.Folder, StringComparison.Ordinal);
        Assert.Empty(Directory.EnumerateFileSystemEntries(cache.Folder));
        Assert.True(File.Exists(Path.Combine(own, "copy.wav")));
        Assert.False(Directory.Exists(gone));
        Assert.True(File.Exists(Path.Combine(live, "copy.wav")));
        Assert.True(File.Exists(Path.Combine(otherHost, "copy.wav")));
        Assert.True(File.Exists(Path.Combine(_base, "operator-notes.txt")));
    }
}
