using System.Globalization;
using CallMedia.Auth;
using CallMedia.Data;
using Dapper;
using Microsoft.Extensions.Options;

namespace CallMedia.Tokens;

/// <summary>A token that admitted a request, with what it was issued for.</summary>
public sealed record TokenGrant(long UserId, IReadOnlyList<long> CoupleIds, int Type, TokenAction Action, bool FirstUse);

/// <summary>
/// Download tokens: issued to a session for fixed criteria, redeemed exactly once by one conditional UPDATE (so
/// two nodes racing for the same token cannot both win), then usable for Range requests of the same session
/// until the range lease ends.
/// </summary>
public sealed class TokenService(Database db, TimeProvider clock, IOptions<TokenOptions> options)
{
    public async Task<string> IssueAsync(SessionInfo session, IReadOnlyList<long> coupleIds, int type, TokenAction action, CancellationToken ct = default)
    {
        var token = Secrets.NewToken();
        var now = clock.GetUtcNow();
        await db.WriteAsync(
            connection => connection.ExecuteAsync(
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
            }),
            ct);
        return token;
    }

    /// <summary>
    /// Admits a request carrying <paramref name="token"/>: the first GET or POST redeems it; later requests of the
    /// same session with a Range header pass while the lease runs; HEAD never redeems. Null means 403.
    /// </summary>
    public async Task<TokenGrant?> AdmitAsync(string? token, SessionInfo session, bool isHead, bool hasRange, CancellationToken ct = default)
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
                connection => connection.QuerySingleOrDefaultAsync<GrantRow>(
                """
                UPDATE tokens SET redeemed_at = @now, lease_until = @leaseUntil
                WHERE hash = @hash AND session_hash = @session AND revoked = 0 AND redeemed_at IS NULL AND expires_at > @now
                RETURNING user_id, couple_ids, media_type, action
                """,
                new { hash, session = session.IdHash, now, leaseUntil = now + lease }),
                ct);
            if (redeemed is not null)
            {
                return Grant(redeemed, firstUse: true);
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
