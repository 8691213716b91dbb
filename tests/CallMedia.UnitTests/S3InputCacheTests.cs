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
    public async Task GetAsync_ManyKeysWaitersFailuresAndCancels_LeavesNoGateBehind()
    {
        var cache = new S3InputCache(_base, 1 << 20);
        var stat = new StoredObject(5, DateTimeOffset.UnixEpoch, false);
        var release = new TaskCompletionSource();
        async Task Slow(string target, CancellationToken ct)
        {
            await release.Task;
            await File.WriteAllTextAsync(target, "bytes", ct);
        }

        // One caller makes the copy while others wait for it, one of them giving up.
        var first = cache.GetAsync("k", "wav", stat, Slow, CancellationToken.None);
        var waiters = Enumerable.Range(0, 3).Select(_ => cache.GetAsync("k", "wav", stat, Slow, CancellationToken.None)).ToList();
        using var giveUp = new CancellationTokenSource();
        var cancelled = cache.GetAsync("k", "wav", stat, Slow, giveUp.Token);
        Assert.Equal(1, cache.FillingCount);
        await giveUp.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => cancelled);
        release.SetResult();
        foreach (var input in await Task.WhenAll([first, .. waiters]))
        {
            await input.DisposeAsync();
        }

        // A copy that fails, and many keys each asked for once.
        await Assert.ThrowsAsync<IOException>(() => cache.GetAsync("gone", "wav", stat, (_, _) => throw new IOException("the store is away"), CancellationToken.None));
        for (var i = 0; i < 1000; i++)
        {
            await (await cache.GetAsync($"k{i}", "wav", stat, (target, ct) => File.WriteAllTextAsync(target, "bytes", ct), CancellationToken.None)).DisposeAsync();
        }

        Assert.Equal(0, cache.FillingCount);
    }

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

    [Fact]
    public void Start_ServersStartingTogether_SweepTheSameGoneFoldersWithoutFailing()
    {
        // Several servers of one process start at once over a folder holding many gone processes' copies: each sweeps
        // the same folders, and none may fail because another removed a folder first.
        var all = new List<string>();
        for (var round = 0; round < 5; round++)
        {
            for (var i = 0; i < 20; i++)
            {
                var gone = NodeFolder(int.MaxValue - 1000 - i) + "-" + round.ToString(CultureInfo.InvariantCulture);
                Directory.CreateDirectory(Path.Combine(gone, "nested"));
                for (var f = 0; f < 50; f++)
                {
                    File.WriteAllText(Path.Combine(gone, "nested", $"copy{f}.wav"), "bytes");
                }
            }

            var caches = new S3InputCache[8];
            var failures = new System.Collections.Concurrent.ConcurrentQueue<Exception>();
            using var start = new Barrier(caches.Length);
            var threads = Enumerable.Range(0, caches.Length)
                .Select(n => new Thread(() =>
                {
                    start.SignalAndWait();
                    try
                    {
                        caches[n] = new S3InputCache(_base, 1 << 20);
                    }
                    catch (Exception e)
                    {
                        failures.Enqueue(e);
                    }
                }))
                .ToList();
            threads.ForEach(t => t.Start());
            threads.ForEach(t => t.Join());

            Assert.Empty(failures);
            Assert.Equal(8, caches.Select(c => c.Folder).Distinct(StringComparer.Ordinal).Count());
            Assert.All(caches, c => Assert.True(Directory.Exists(c.Folder)));
            all.AddRange(caches.Select(c => c.Folder));
            Assert.Equal(all.Order(StringComparer.Ordinal), Directory.EnumerateDirectories(_base).Order(StringComparer.Ordinal));
        }
    }
}
