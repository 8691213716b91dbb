using System.Security.Cryptography;
using System.Text;

namespace CallMedia.Storage;

/// <summary>
/// Local copies of objects for ffmpeg, which reads files only (never the bucket): bounded in size, the least
/// recently used copy removed first, never one in use. A copy is found again by its key, and used only while the
/// object's length and time are those it was copied with.
/// </summary>
public sealed class S3InputCache
{
    private readonly string _dir;
    private readonly long _limit;
    private readonly Lock _gate = new();
    private readonly Dictionary<string, Entry> _entries = new(StringComparer.Ordinal);
    /// <summary>One gate per copy being made, there only while someone makes or waits for it (not one per key ever asked for).</summary>
    private readonly Dictionary<string, Filling> _filling = new(StringComparer.Ordinal);
    private long _clock;

    /// <summary>
    /// The copies live in a folder of this cache's own under <paramref name="baseDir"/>
    /// (<c>node-&lt;host&gt;-&lt;pid&gt;-&lt;random&gt;</c>), so nodes, processes or several servers in one process given
    /// the same folder never touch each other's copies; at start it removes only the folders of this host's processes
    /// that are gone (copies of a previous run, whose objects may have changed since), never anything else.
    /// </summary>
    public S3InputCache(string baseDir, long limitBytes)
    {
        var mode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;
        CreatePrivate(baseDir, mode);
        var prefix = $"node-{Environment.MachineName}-";
        _dir = Path.Combine(baseDir, $"{prefix}{Environment.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture)}-{Guid.NewGuid():N}");
        _limit = limitBytes;
        foreach (var folder in Directory.EnumerateDirectories(baseDir, prefix + "*"))
        {
            var rest = Path.GetFileName(folder)[prefix.Length..];
            var dash = rest.IndexOf('-', StringComparison.Ordinal);
            if (int.TryParse(dash < 0 ? rest : rest[..dash], out var pid) && pid != Environment.ProcessId && !IsRunning(pid))
            {
                RemoveStale(folder);
            }
        }

        CreatePrivate(_dir, mode);
    }

    /// <summary>
    /// Removes a gone process's folder; servers starting together sweep the same folders, so one already removed (or
    /// being removed) by another is not an error, and a copy that cannot be removed only costs disk until the next start.
    /// </summary>
    private static void RemoveStale(string folder)
    {
        try
        {
            Directory.Delete(folder, recursive: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // DirectoryNotFoundException is an IOException: another server removed it first.
        }
    }

    private static void CreatePrivate(string dir, UnixFileMode mode)
    {
        if (OperatingSystem.IsWindows())
        {
            Directory.CreateDirectory(dir);
        }
        else
        {
            Directory.CreateDirectory(dir, mode);
        }
    }

    private static bool IsRunning(int pid)
    {
        try
        {
            using var process = System.Diagnostics.Process.GetProcessById(pid);
            return !process.HasExited;
        }
        catch (ArgumentException)
        {
            return false;
        }
        catch (InvalidOperationException)
        {
            return false;
        }
    }

    /// <summary>The folder holding this process's copies.</summary>
    public string Folder => _dir;

    /// <summary>Bytes held now.</summary>
    public long Size
    {
        get
        {
            lock (_gate)
            {
                return _entries.Values.Sum(e => e.Length);
            }
        }
    }

    /// <summary>The cached copy of an object, copied first (by <paramref name="fill"/>) when missing or stale.</summary>
    public async Task<LocalInput> GetAsync(string key, string extension, StoredObject stat, Func<string, CancellationToken, Task> fill, CancellationToken ct)
    {
        var name = Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(key)))[..32].ToLowerInvariant() + "." + extension;
        var path = Path.Combine(_dir, name);
        Filling filling;
        lock (_gate)
        {
            if (Use(name, stat) is { } hit)
            {
                return hit;
            }

            if (!_filling.TryGetValue(name, out filling!))
            {
                _filling[name] = filling = new Filling();
            }

            filling.Users++;
        }

        try
        {
            await filling.Gate.WaitAsync(ct);
            try
            {
                return await FillAsync(name, path, stat, fill, ct);
            }
            finally
            {
                filling.Gate.Release();
            }
        }
        finally
        {
            lock (_gate)
            {
                if (--filling.Users == 0)
                {
                    _filling.Remove(name);
                    filling.Gate.Dispose();
                }
            }
        }
    }

    /// <summary>Gates of copies being made or waited for now (none once every caller is done).</summary>
    public int FillingCount
    {
        get
        {
            lock (_gate)
            {
                return _filling.Count;
            }
        }
    }

    private async Task<LocalInput> FillAsync(string name, string path, StoredObject stat, Func<string, CancellationToken, Task> fill, CancellationToken ct)
    {
        lock (_gate)
        {
            if (Use(name, stat) is { } hit)
            {
                return hit;
            }
        }

        var temp = path + "." + Guid.NewGuid().ToString("N") + ".part";
        try
        {
            await fill(temp, ct);
            lock (_gate)
            {
                File.Move(temp, path, overwrite: true);
                _entries[name] = new Entry(path, stat.Length, stat.LastModified) { Users = 0, LastUse = ++_clock };
                var input = Use(name, stat)!;
                Evict();
                return input;
            }
        }
        finally
        {
            File.Delete(temp);
        }
    }

    private LocalInput? Use(string name, StoredObject stat)
    {
        if (!_entries.TryGetValue(name, out var entry))
        {
            return null;
        }

        if (entry.Length != stat.Length || entry.Modified != stat.LastModified || !File.Exists(entry.Path))
        {
            if (entry.Users == 0)
            {
                _entries.Remove(name);
                File.Delete(entry.Path);
            }

            return null;
        }

        entry.Users++;
        entry.LastUse = ++_clock;
        return new LocalInput(entry.Path, temporary: false, () =>
        {
            lock (_gate)
            {
                entry.Users--;
                Evict();
            }
        });
    }

    /// <summary>Removes the least recently used copies not in use until the cache is within its limit.</summary>
    private void Evict()
    {
        var total = _entries.Values.Sum(e => e.Length);
        foreach (var (name, entry) in _entries.OrderBy(e => e.Value.LastUse).ToList())
        {
            if (total <= _limit)
            {
                return;
            }

            if (entry.Users > 0)
            {
                continue;
            }

            _entries.Remove(name);
            File.Delete(entry.Path);
            total -= entry.Length;
        }
    }

    private sealed class Entry(string path, long length, DateTimeOffset modified)
    {
        public string Path { get; } = path;

        public long Length { get; } = length;

        public DateTimeOffset Modified { get; } = modified;

        public int Users { get; set; }

        public long LastUse { get; set; }
    }

    private sealed class Filling
    {
        public SemaphoreSlim Gate { get; } = new(1);

        /// <summary>Callers making or waiting for the copy; changed under the cache's lock.</summary>
        public int Users { get; set; }
    }
}
