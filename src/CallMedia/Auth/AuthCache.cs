using System.Collections.Concurrent;
using CallMedia.Data;

namespace CallMedia.Auth;

/// <summary>
/// Sessions and users' rights held in memory, each entry tagged with the <see cref="AuthVersion"/> it was read at and
/// good only while the database's counter still has that value. A request reads the counter once (one short
/// statement instead of the session and rights queries) and so sees a revoked right, a disabled user or an ended
/// session at its very next request on any node: the counter is raised in the transaction that made the change.
/// Idle and absolute expiry are checked against the clock on every hit; a session that looks idle here is read
/// again, since another node may have seen it more recently.
/// </summary>
public sealed class AuthCache(Database db)
{
    /// <summary>Entries kept at most; past that the cache starts again empty (a miss costs only the queries it saves).</summary>
    public const int MaxEntries = 100_000;

    private readonly ConcurrentDictionary<string, CachedSession> _sessions = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<long, (long Version, UserAccess User)> _users = new();

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

    /// <summary>The database's current version: what cached entries must carry to be used by this request.</summary>
    public async Task<long> ReadVersionAsync(CancellationToken ct = default)
    {
        await using var connection = await db.OpenAsync(ct);
        return await AuthVersion.ReadAsync(connection);
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
