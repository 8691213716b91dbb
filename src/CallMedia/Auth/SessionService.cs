using System.Data.Common;
using CallMedia.Data;
using Dapper;
using Microsoft.Extensions.Options;

namespace CallMedia.Auth;

/// <summary>A live session: only the hash of its id is known past the request that carried it.</summary>
public sealed record SessionInfo(string IdHash, long UserId);

/// <summary>Sessions in the database, so every node sees them; idle and absolute expiry per API.md §4.</summary>
public sealed class SessionService(Database db, AuthCache cache, TimeProvider clock, IOptions<SessionOptions> options, IGrantRevoker grants)
{
    /// <summary>Last-seen is written at most this often, so a burst of range requests is not a burst of writes.</summary>
    private static readonly TimeSpan TouchGranularity = TimeSpan.FromSeconds(15);

    public async Task<string> CreateAsync(long userId, string client, CancellationToken ct = default)
    {
        var id = Secrets.NewSessionId();
        var now = clock.GetUtcNow().ToUnixTimeMilliseconds();
        await db.WriteAsync(
            connection => connection.ExecuteAsync(
                "INSERT INTO sessions (id_hash, user_id, client, created_at, last_seen_at) VALUES (@hash, @userId, @client, @now, @now)",
                new { hash = Secrets.HashSession(id), userId, client, now }),
            ct);
        return id;
    }

    /// <summary>The live session for a raw id, touched; null when unknown, ended, expired or its user is disabled.</summary>
    public async Task<SessionInfo?> ResolveAsync(string? sessionId, CancellationToken ct = default) =>
        await ResolveAsync(sessionId, await cache.ReadVersionAsync(ct), ct);

    /// <summary>
    /// <see cref="ResolveAsync(string?, CancellationToken)"/> for a request that has read the <see cref="AuthVersion"/>:
    /// a session cached at that version is used without a query (its expiry checked against the clock).
    /// </summary>
    public async Task<SessionInfo?> ResolveAsync(string? sessionId, long version, CancellationToken ct = default)
    {
        if (!Secrets.IsSessionIdShape(sessionId))
        {
            return null;
        }

        var hash = Secrets.HashSession(sessionId!);
        var now = clock.GetUtcNow().ToUnixTimeMilliseconds();
        var o = options.Value;
        var idleSince = now - (long)o.IdleTimeout.TotalMilliseconds;
        var bornAfter = now - (long)o.MaxLifetime.TotalMilliseconds;
        var cached = cache.Session(hash, version);
        if (cached is null || cached.LastSeenAt <= idleSince || cached.CreatedAt <= bornAfter)
        {
            // Not cached at this version, or idle here (another node may have seen it since): ask the database.
            SessionRow? row;
            await using (var connection = await db.OpenAsync(ct))
            {
                row = await connection.QuerySingleOrDefaultAsync<SessionRow>(
                """
                SELECT s.user_id, s.created_at, s.last_seen_at FROM sessions s JOIN users u ON u.id = s.user_id
                WHERE s.id_hash = @hash AND s.ended_at IS NULL AND s.last_seen_at > @idleSince AND s.created_at > @bornAfter AND u.disabled = 0
                """,
                new { hash, idleSince, bornAfter });
            }

            if (row is null)
            {
                return null;
            }

            cached = new AuthCache.CachedSession(version, row.UserId, row.CreatedAt, row.LastSeenAt);
            cache.Keep(hash, cached);
        }

        var touchEvery = Math.Min(TouchGranularity.TotalMilliseconds, o.IdleTimeout.TotalMilliseconds / 10);
        if (now - cached.LastSeenAt >= touchEvery)
        {
            cached.LastSeenAt = now;
            await db.WriteAsync(
                connection => connection.ExecuteAsync("UPDATE sessions SET last_seen_at = @now WHERE id_hash = @hash AND last_seen_at < @now", new { hash, now }),
                ct);
        }

        return new SessionInfo(hash, cached.UserId);
    }

    /// <summary>
    /// Counts a token in the session's one-minute window, as a statement of a pipeline inside the token's transaction
    /// (so the count and the token commit together): it returns a row when the token was counted, none when
    /// <paramref name="maxPerMinute"/> were already counted in the window.
    /// </summary>
    public Statement CountTokenStatement(SessionInfo session, int maxPerMinute)
    {
        var now = clock.GetUtcNow().ToUnixTimeMilliseconds();
        return new Statement(CountTokenSql, ("session", session.IdHash), ("now", now), ("windowStart", now - 60_000), ("max", maxPerMinute));
    }

    private const string CountTokenSql =
        """
        UPDATE sessions SET
            token_window_count = CASE WHEN token_window_start <= @windowStart THEN 1 ELSE token_window_count + 1 END,
            token_window_start = CASE WHEN token_window_start <= @windowStart THEN @now ELSE token_window_start END
        WHERE id_hash = @session AND (token_window_start <= @windowStart OR token_window_count < @max)
        RETURNING id_hash
        """;

    /// <summary>Ends a session and every token issued to it.</summary>
    public async Task EndAsync(string idHash, CancellationToken ct = default)
    {
        var now = clock.GetUtcNow().ToUnixTimeMilliseconds();
        await db.WriteAsync(
            async connection =>
            {
                await using var tx = await connection.BeginTransactionAsync(ct);
                // The tokens first, as a group commit locks them (IGrantRevoker's lock order).
                await grants.LockForSessionAsync(connection, tx, idHash);
                await connection.ExecuteAsync("UPDATE sessions SET ended_at = @now WHERE id_hash = @idHash AND ended_at IS NULL", new { idHash, now }, tx);
                await grants.RevokeForSessionAsync(connection, tx, idHash);
                await tx.CommitAsync(ct);
                cache.Changed();
                return 0;
            },
            ct);
    }

    private sealed class SessionRow
    {
        public long UserId { get; set; }

        public long CreatedAt { get; set; }

        public long LastSeenAt { get; set; }
    }
}
