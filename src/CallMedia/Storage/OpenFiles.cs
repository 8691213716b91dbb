using System.Collections.Concurrent;
using Microsoft.Win32.SafeHandles;

namespace CallMedia.Storage;

/// <summary>
/// Plain media files kept open between deliveries (as nginx's <c>open_file_cache</c> keeps them): a delivery of a
/// file known by its identity reads it through the descriptor an earlier delivery of that very file opened and
/// checked, instead of opening, looking at and closing it again. A descriptor is found only under the path it was
/// opened by and the identity its file had then, and the caller asks with what that path leads to now (one
/// <c>statx</c> of it), so a file written, replaced, renamed or deleted since is opened afresh. A descriptor no
/// delivery took for <see cref="IdleTime"/> is closed at the next sweep (every half of that), once no delivery reads
/// it; the storage forgets a file it deletes or replaces at once. So a file deleted by another program keeps its disk
/// space at most 15 s after its last delivery began, or until a delivery still reading it ends.
/// </summary>
public sealed class OpenFiles : IDisposable
{
    /// <summary>How long a descriptor no delivery used stays open.</summary>
    public static readonly TimeSpan IdleTime = TimeSpan.FromSeconds(10);

    /// <summary>Descriptors kept at most; a file opened past that is closed after its delivery.</summary>
    public const int Capacity = 512;

    private readonly ConcurrentDictionary<string, Entry> _entries = new(StringComparer.Ordinal);
    private readonly TimeProvider _clock;
    private readonly Lock _gate = new();
    private ITimer? _sweep;
    private int _count;
    private bool _disposed;

    public OpenFiles(TimeProvider? clock = null) => _clock = clock ?? TimeProvider.System;

    /// <summary>How many descriptors are kept now.</summary>
    public int Count => Volatile.Read(ref _count);

    /// <summary>The file <paramref name="path"/> led to when it had <paramref name="identity"/>, if it is kept open; null when not.</summary>
    public OpenFile? Take(string path, FileIdentity identity) =>
        _entries.TryGetValue(path, out var entry) && entry.Identity == identity && entry.TryUse(_clock.GetTimestamp())
            ? new OpenFile(entry)
            : null;

    /// <summary>
    /// Keeps a file just opened by <paramref name="path"/> and checked to have <paramref name="identity"/> for the
    /// deliveries after this one (in place of any other kept under that path), and returns this delivery's use of it.
    /// </summary>
    public OpenFile Keep(string path, FileIdentity identity, SafeFileHandle handle)
    {
        var entry = new Entry(handle, identity, _clock.GetTimestamp());
        if (Count >= Capacity || !Sweeping())
        {
            return new OpenFile(entry);
        }

        entry.TryUse(_clock.GetTimestamp()); // the cache's own use, ended when it lets the file go
        while (true)
        {
            if (_entries.TryGetValue(path, out var old))
            {
                if (_entries.TryUpdate(path, entry, old))
                {
                    old.Release();
                    break;
                }
            }
            else if (_entries.TryAdd(path, entry))
            {
                Interlocked.Increment(ref _count);
                break;
            }
        }

        return new OpenFile(entry);
    }

    /// <summary>Closes what is kept under <paramref name="path"/> (once no delivery reads it): the file was deleted or replaced.</summary>
    public void Forget(string path)
    {
        if (_entries.TryRemove(path, out var entry))
        {
            Removed(entry);
        }
    }

    /// <summary>Closes the files no delivery used for <paramref name="idle"/> (those being read, once they are done).</summary>
    public void CloseIdle(TimeSpan idle)
    {
        var now = _clock.GetTimestamp();
        foreach (var (path, entry) in _entries)
        {
            if (_clock.GetElapsedTime(entry.LastUsed, now) >= idle && _entries.TryRemove(new KeyValuePair<string, Entry>(path, entry)))
            {
                Removed(entry);
            }
        }
    }

    public void Dispose()
    {
        lock (_gate)
        {
            _disposed = true;
            _sweep?.Dispose();
        }

        CloseIdle(TimeSpan.Zero);
    }

    private void Removed(Entry entry)
    {
        Interlocked.Decrement(ref _count);
        entry.Release();
    }

    /// <summary>
    /// Starts the sweep with the first file kept (a storage that never delivers, such as a command's, runs none);
    /// false once disposed, when nothing is kept any more. The sweep's timer carries no request's context.
    /// </summary>
    private bool Sweeping()
    {
        if (Volatile.Read(ref _sweep) is not null)
        {
            return !Volatile.Read(ref _disposed);
        }

        lock (_gate)
        {
            if (_sweep is null && !_disposed)
            {
                using (ExecutionContext.SuppressFlow())
                {
                    var every = IdleTime / 2;
                    Volatile.Write(ref _sweep, _clock.CreateTimer(_ => CloseIdle(IdleTime), null, every, every));
                }
            }

            return !_disposed;
        }
    }

    /// <summary>
    /// A kept descriptor and how many hold it: each delivery reading it, and the cache while it keeps it. Closed when
    /// the last lets go; never used again once that count reached zero.
    /// </summary>
    internal sealed class Entry(SafeFileHandle handle, FileIdentity identity, long now)
    {
        private int _users = 1;
        private long _lastUsed = now;

        public SafeFileHandle Handle { get; } = handle;

        public FileIdentity Identity { get; } = identity;

        public long LastUsed => Volatile.Read(ref _lastUsed);

        public bool TryUse(long now)
        {
            var users = Volatile.Read(ref _users);
            while (users > 0)
            {
                var seen = Interlocked.CompareExchange(ref _users, users + 1, users);
                if (seen == users)
                {
                    Volatile.Write(ref _lastUsed, now);
                    return true;
                }

                users = seen;
            }

            return false;
        }

        public void Release()
        {
            if (Interlocked.Decrement(ref _users) == 0)
            {
                Handle.Dispose();
            }
        }
    }
}

/// <summary>One delivery's use of an open media file: read <see cref="Handle"/> (never dispose it), then dispose this.</summary>
public sealed class OpenFile : IDisposable
{
    private OpenFiles.Entry? _entry;

    internal OpenFile(OpenFiles.Entry entry) => _entry = entry;

    /// <summary>A file opened for one delivery only, closed when it is done.</summary>
    public static OpenFile Alone(SafeFileHandle handle) => new(new OpenFiles.Entry(handle, default, 0));

    public SafeFileHandle Handle => (_entry ?? throw new ObjectDisposedException(nameof(OpenFile))).Handle;

    public void Dispose() => Interlocked.Exchange(ref _entry, null)?.Release();
}
