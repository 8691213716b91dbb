using System.Globalization;
using CallMedia.Audit;
using CallMedia.Auth;
using CallMedia.Data;
using Dapper;
using Microsoft.Extensions.Options;

namespace CallMedia.Tokens;

/// <summary>A token that admitted a request, with what it was issued for; <paramref name="AuditSeq"/> is the open audit record of a redemption.</summary>
public sealed record TokenGrant(long UserId, IReadOnlyList<long> CoupleIds, int Type, TokenAction Action, bool FirstUse, long? AuditSeq = null);

/// <summary>
/// Download tokens: issued to a session for fixed criteria, redeemed exactly once by one conditional UPDATE (so
/// two nodes racing for the same token cannot both win), then usable for Range requests of the same session
/// until the range lease ends.
/// </summary>
public sealed class TokenService(Database db, SessionService sessions, TimeProvider clock, IOptions<TokenOptions> options)
{
    /// <summary>
    /// Issues a token if the session's one-minute window has room (<see cref="SessionService.TryCountTokenAsync"/>),
    /// its audit record (<paramref name="record"/> of <c>issued</c>) in the token's transaction; null, with a
    /// <c>rate-limited</c> record, when the window is full (the caller answers 429). One transaction either way:
    /// the window's count, the token and the record commit together, one commit per issue.
    /// </summary>
    public Task<string?> IssueWithinWindowAsync(
        SessionInfo session, IReadOnlyList<long> coupleIds, int type, TokenAction action, Func<string, AuditEntry> record, CancellationToken ct = default) =>
        WriteTokenAsync(session, coupleIds, type, action, record, options.Value.MaxPerSessionPerMinute, ct);

    /// <summary>Issues a token; <paramref name="record"/>, when given, is written in the same transaction as the token.</summary>
    public async Task<string> IssueAsync(SessionInfo session, IReadOnlyList<long> coupleIds, int type, TokenAction action, AuditEntry? record = null, CancellationToken ct = default) =>
        (await WriteTokenAsync(session, coupleIds, type, action, record is null ? null : _ => record, window: null, ct))!;

    private async Task<string?> WriteTokenAsync(
        SessionInfo session, IReadOnlyList<long> coupleIds, int type, TokenAction action, Func<string, AuditEntry>? record, int? window, CancellationToken ct)
    {
        var token = Secrets.NewToken();
        var now = clock.GetUtcNow();
        return await db.WriteAsync(
            async connection =>
            {
                await using var tx = await connection.BeginTransactionAsync(ct);
                if (window is { } max && !await sessions.TryCountTokenAsync(connection, tx, session, max))
                {
                    await AuditLog.InsertAsync(connection, tx, record!("rate-limited"), open: false);
                    await tx.CommitAsync(CancellationToken.None);
                    return null;
                }

                await connection.ExecuteAsync(
                    """
                    INSERT INTO tokens (hash, session_hash, user_id, couple_ids, media_type, action, issued_at, expires_at)
                    VALUES (@hash, @session, @userId, @ids, @type, @action, @now, @expires)
                    """,
                    new
                    {
                        hash = Secrets.HashToken(token),
                        session = session.IdHash,
                        userId = session.UserId,
                        ids = string.Join(',', coupleIds),
                        type,
                        action = TokenCriteria.ActionName(action),
                        now = now.ToUnixTimeMilliseconds(),
                        expires = (now + options.Value.Lifetime).ToUnixTimeMilliseconds(),
                    },
                    tx);
                if (record is not null)
                {
                    await AuditLog.InsertAsync(connection, tx, record("issued"), open: false);
                }

                await tx.CommitAsync(ct);
                return token;
            },
            ct);
    }

    /// <summary>
    /// Admits a request carrying <paramref name="token"/>: the first GET or POST redeems it; later requests of the
    /// same session with a Range header pass while the lease runs; HEAD never redeems. Null means 403. A redemption
    /// writes its audit record (<paramref name="redemptionRecord"/>, open until the transfer ends) in the redeeming
    /// transaction, so no token is ever redeemed without its record, whatever happens to this process afterwards.
    /// </summary>
    public async Task<TokenGrant?> AdmitAsync(
        string? token, SessionInfo session, bool isHead, bool hasRange, Func<TokenGrant, AuditEntry>? redemptionRecord = null, CancellationToken ct = default)
    {
        if (!Secrets.IsTokenShape(token))
        {
            return null;
        }

        var hash = Secrets.HashToken(token!);
        var now = clock.GetUtcNow().ToUnixTimeMilliseconds();
        var lease = (long)options.Value.RangeLease.TotalMilliseconds;
        if (!isHead)
        {
            // The one statement that decides who redeems: at most one request, on any node, sees its row.
            var redeemed = await db.WriteAsync(
                async connection =>
                {
                    await using var tx = await connection.BeginTransactionAsync(ct);
                    var row = await connection.QuerySingleOrDefaultAsync<GrantRow>(
                        """
                        UPDATE tokens SET redeemed_at = @now, lease_until = @leaseUntil
                        WHERE hash = @hash AND session_hash = @session AND revoked = 0 AND redeemed_at IS NULL AND expires_at > @now
                        RETURNING user_id, couple_ids, media_type, action
                        """,
                        new { hash, session = session.IdHash, now, leaseUntil = now + lease },
                        tx);
                    if (row is null)
                    {
                        await tx.RollbackAsync(ct);
                        return null;
                    }

                    var grant = Grant(row, firstUse: true);
                    if (redemptionRecord is not null)
                    {
                        grant = grant with { AuditSeq = await AuditLog.InsertAsync(connection, tx, redemptionRecord(grant), open: true) };
                    }

                    await tx.CommitAsync(ct);
                    return grant;
                },
                ct);
            if (redeemed is not null)
            {
                return redeemed;
            }
        }

        await using var connection = await db.OpenAsync(ct);
        var row = await connection.QuerySingleOrDefaultAsync<TokenRow>(
            "SELECT session_hash, revoked, expires_at, redeemed_at, lease_until, user_id, couple_ids, media_type, action FROM tokens WHERE hash = @hash",
            new { hash });
        if (row is null || row.Revoked != 0 || !FixedTimeEquals(row.SessionHash, session.IdHash))
        {
            return null;
        }

        var usable = row.RedeemedAt is null
            ? isHead && row.ExpiresAt > now
            : (isHead || hasRange) && row.LeaseUntil > now;
        return usable ? Grant(row, firstUse: false) : null;
    }

    private static bool FixedTimeEquals(string a, string b) =>
        System.Security.Cryptography.CryptographicOperations.FixedTimeEquals(
            System.Text.Encoding.ASCII.GetBytes(a), System.Text.Encoding.ASCII.GetBytes(b));

    private static TokenGrant Grant(GrantRow row, bool firstUse)
    {
        var ids = row.CoupleIds.Split(',', StringSplitOptions.RemoveEmptyEntries)
            .Select(s => long.Parse(s, CultureInfo.InvariantCulture))
            .ToList();
        return new TokenGrant(row.UserId, ids, (int)row.MediaType, TokenCriteria.ParseAction(row.Action), firstUse);
    }

    private sealed class TokenRow : GrantRow
    {
        public string SessionHash { get; set; } = "";

        public long Revoked { get; set; }

        public long ExpiresAt { get; set; }

        public long? RedeemedAt { get; set; }

        public long? LeaseUntil { get; set; }
    }

    private class GrantRow
    {
        public long UserId { get; set; }

        public string CoupleIds { get; set; } = "";

        public long MediaType { get; set; }

        public string Action { get; set; } = "";
    }
}
