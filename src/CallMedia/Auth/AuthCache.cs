using System.Collections.Concurrent;
using CallMedia.Data;
using Microsoft.Extensions.Options;

namespace CallMedia.Auth;

/// <summary>
/// Sessions and users' rights held in memory, each entry tagged with the <see cref="AuthVersion"/> it was read at and
/// good only while that is still the version this node knows. The version itself is not read per request: it is read
/// again when this node changed who may do what (<see cref="Changed"/>, called by every write of this process after
/// its commit: exact, the next request sees it), when another node or process announced a change (PostgreSQL's
/// <c>NOTIFY callmedia_auth</c>, heard by <see cref="AuthChangeListener"/>), and in any case once it is older than
/// <see cref="SessionOptions.ChangePollInterval"/>: the bound, for a change made elsewhere, within which every node
/// sees it. Idle and absolute expiry are checked against the clock on every hit; a session that looks idle here is
/// read again, since another node may have seen it more recently.
/// </summary>
public sealed class AuthCache(Database db, IOptions<SessionOptions> options)
{
    /// <summary>Entries kept at most; past that the cache starts again empty (a miss costs only the queries it saves).</summary>
    public const int MaxEntries = 100_000;

    private readonly ConcurrentDictionary<string, CachedSession> _sessions = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<long, (long Version, UserAccess User)> _users = new();

    /// <summary>Raised by <see cref="Changed"/>: a version read before the last raise is not used again.</summary>
    private long _changes;

    private VersionRead? _version;

    /// <summary>The version as read, the <see cref="_changes"/> count before the read began and when it began.</summary>
    private sealed record VersionRead(long Version, long Changes, long StartedAt);

    /// <summary>A session as read, with the last time this node saw it (written to the database at most every few seconds).</summary>
    public sealed class CachedSession(long version, long userId, long createdAt, long lastSeenAt)
    {
        private long _lastSeenAt = lastSeenAt;

        public long Version { get; } = version;

        public long UserId { get; } = userId;

        public long CreatedAt { get; } = createdAt;

        public long LastSeenAt
        {
            get => Interlocked.Read(ref _lastSeenAt);
            set => Interlocked.Exchange(ref _lastSeenAt, value);
        }
    }

    /// <summary>
    /// Says that who may do what may have changed: the next request reads the version from the database. Called after
    /// the commit of every write of this process that changes users, roles, rights, scope or sessions' validity, and
    /// when another node's change is announced.
    /// </summary>
    public void Changed() => Interlocked.Increment(ref _changes);

    /// <summary>
    /// The version cached entries must carry to be used by this request: the last one read while no change since is
    /// known here and it is younger than the poll interval; otherwise read from the database (one short statement).
    /// </summary>
    public async Task<long> ReadVersionAsync(CancellationToken ct = default)
    {
        var changes = Volatile.Read(ref _changes);
        var startedAt = Environment.TickCount64;
        var known = Volatile.Read(ref _version);
        if (known is not null && known.Changes == changes && startedAt - known.StartedAt < (long)options.Value.ChangePollInterval.TotalMilliseconds)
        {
            return known.Version;
        }

        long version;
        await using (var connection = await db.OpenAsync(ct))
        {
            version = await AuthVersion.ReadAsync(connection);
        }

        // Keep the read that began last (the counter only grows, so it holds the newest version).
        var read = new VersionRead(version, changes, startedAt);
        while (true)
        {
            var current = Volatile.Read(ref _version);
            if (current is not null && (current.Changes > changes || (current.Changes == changes && current.StartedAt > startedAt)))
            {
                break;
            }

            if (Interlocked.CompareExchange(ref _version, read, current) == current)
            {
                break;
            }
        }

        return version;
    }

    public CachedSession? Session(string idHash, long version) =>
        _sessions.TryGetValue(idHash, out var s) && s.Version == version ? s : null;

    public void Keep(string idHash, CachedSession session)
    {
        if (_sessions.Count >= MaxEntries)
        {
            _sessions.Clear();
        }

        _sessions[idHash] = session;
    }

    public UserAccess? User(long userId, long version) =>
        _users.TryGetValue(userId, out var u) && u.Version == version ? u.User : null;

    public void Keep(long version, UserAccess user)
    {
        if (_users.Count >= MaxEntries)
        {
            _users.Clear();
        }

        _users[user.UserId] = (version, user);
    }
}
