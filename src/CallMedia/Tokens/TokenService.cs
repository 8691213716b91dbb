using System.Data.Common;
using System.Globalization;
using CallMedia.Audit;
using CallMedia.Auth;
using CallMedia.Data;
using Dapper;
using Microsoft.Extensions.Options;

namespace CallMedia.Tokens;

/// <summary>
/// A token that admitted a request, with what it was issued for; <paramref name="AuditSeq"/> is the open audit record of a
/// redemption, written as <paramref name="OpenRecord"/>; <paramref name="Options"/> the delivery options it was issued
/// with (<c>tokens.options</c>, JSON, opaque here; null for the tokens old clients ask for), read with the token's row.
/// </summary>
public sealed record TokenGrant(
    long UserId, IReadOnlyList<long> CoupleIds, int Type, TokenAction Action, bool FirstUse, long? AuditSeq = null, string? Options = null, AuditEntry? OpenRecord = null);

/// <summary>
/// Download tokens: issued to a session for fixed criteria, redeemed exactly once by one conditional UPDATE (so
/// two nodes racing for the same token cannot both win), then usable for Range requests of the same session
/// until the range lease ends.
/// </summary>
public sealed class TokenService(Database db, SessionService sessions, RedemptionBatcher batcher, TimeProvider clock, IOptions<TokenOptions> options)
{
    /// <summary>
    /// Issues a token if the session's one-minute window has room (<see cref="SessionService.TryCountTokenAsync(SessionInfo, int, CancellationToken)"/>),
    /// its audit record (<paramref name="record"/> of <c>issued</c>) in the token's transaction; null, with a
    /// <c>rate-limited</c> record, when the window is full (the caller answers 429). The window, the token and the
    /// record are written in one group commit with the requests that arrived with this one. <paramref name="deliveryOptions"/>
    /// (JSON, or null for old clients' tokens) is written in the token's own row.
    /// </summary>
    public async Task<string?> IssueWithinWindowAsync(
        SessionInfo session, IReadOnlyList<long> coupleIds, int type, TokenAction action, Func<string, AuditEntry> record, string? deliveryOptions = null, CancellationToken ct = default)
    {
        var token = Secrets.NewToken();
        var issued = await batcher.IssueAsync(
            session.IdHash,
            sessions.CountTokenStatement(session, options.Value.MaxPerSessionPerMinute),
            counted => counted
                ? ([InsertStatement(token, session, coupleIds, type, action, deliveryOptions)], record("issued"))
                : ([], record("rate-limited")));
        return issued ? token : null;
    }

    /// <summary>Issues a token outside any window; <paramref name="record"/>, when given, is written in the same transaction as the token.</summary>
    public async Task<string> IssueAsync(SessionInfo session, IReadOnlyList<long> coupleIds, int type, TokenAction action, AuditEntry? record = null, CancellationToken ct = default)
    {
        var token = Secrets.NewToken();
        List<Statement> rows = [InsertStatement(token, session, coupleIds, type, action, null)];
        if (record is not null)
        {
            rows.Add(AuditLog.InsertStatement(record, open: false));
        }

        await db.WriteAsync(
            async connection =>
            {
                await using var tx = await connection.BeginTransactionAsync(ct);
                await StatementPipeline.ExecuteAsync(connection, tx, rows);
                await tx.CommitAsync(ct);
                return 0;
            },
            ct);
        return token;
    }

    private Statement InsertStatement(string token, SessionInfo session, IReadOnlyList<long> coupleIds, int type, TokenAction action, string? deliveryOptions)
    {
        var now = clock.GetUtcNow();
        return new Statement(
            """
            INSERT INTO tokens (hash, session_hash, user_id, couple_ids, media_type, action, issued_at, expires_at, options)
            VALUES (@hash, @session, @userId, @ids, @type, @action, @now, @expires, @deliveryOptions)
            """,
            ("hash", Secrets.HashToken(token)),
            ("session", session.IdHash),
            ("userId", session.UserId),
            ("ids", string.Join(',', coupleIds)),
            ("type", (long)type),
            ("action", TokenCriteria.ActionName(action)),
            ("now", now.ToUnixTimeMilliseconds()),
            ("expires", (now + options.Value.Lifetime).ToUnixTimeMilliseconds()),
            ("deliveryOptions", deliveryOptions));
    }

    /// <summary>
    /// Admits a request carrying <paramref name="token"/>: the first GET or POST redeems it; later requests of the
    /// same session with a Range header pass while the lease runs; HEAD never redeems. Null means 403. A redemption
    /// writes its audit record (<paramref name="redemptionRecord"/>, with the token's couple ids; open until the transfer ends) in the redeeming
    /// transaction, so no token is ever redeemed without its record, whatever happens to this process afterwards.
    /// <paramref name="alsoRead"/> (optional) names reads to run in the redeeming transaction's pipeline
    /// (<see cref="RedemptionBatcher.RedeemAsync"/>); they run only for a redemption that wins.
    /// </summary>
    public async Task<TokenGrant?> AdmitAsync(
        string? token,
        SessionInfo session,
        bool isHead,
        bool hasRange,
        AuditEntry? redemptionRecord = null,
        Func<TokenGrant, PipelinedRead?>? alsoRead = null,
        CancellationToken ct = default)
    {
        if (!Secrets.IsTokenShape(token))
        {
            return null;
        }

        var hash = Secrets.HashToken(token!);
        var now = clock.GetUtcNow().ToUnixTimeMilliseconds();
        var lease = (long)options.Value.RangeLease.TotalMilliseconds;
        if (isHead || hasRange)
        {
            // A player's next range (or a HEAD) mostly finds its token redeemed already: the lease decides, read
            // without waiting for a group commit whose redeeming UPDATE could only fail.
            var known = await ReadAsync(hash, ct);
            if (known is null || known.RedeemedAt is not null || isHead)
            {
                return Leased(known, session, isHead, hasRange, now);
            }
        }

        // Group commit: redeemed by its own conditional UPDATE, in a transaction shared with the requests that
        // arrived with it, its audit record in that same transaction; this returns once it has committed.
        var redeemed = await batcher.RedeemAsync(
            hash,
            session.IdHash,
            now,
            now + lease,
            redemptionRecord,
            alsoRead is null ? null : row => alsoRead(Grant(row, firstUse: true)));
        if (redeemed is { } won)
        {
            return Grant(won.Row, firstUse: true) with { AuditSeq = won.AuditSeq, OpenRecord = won.Record };
        }

        // Not redeemable by this request; a range request redeemed by another one meanwhile may still use the lease.
        return hasRange ? Leased(await ReadAsync(hash, ct), session, isHead, hasRange, now) : null;
    }

    /// <summary>The token's row, on a connection that keeps the statement compiled (a player's every range reads it).</summary>
    private Task<TokenRow?> ReadAsync(string hash, CancellationToken ct) =>
        db.ReadKeptAsync(
            async connection =>
            {
                TokenRow? row = null;
                await StatementPipeline.RunAsync(
                    connection,
                    null,
                    [new Statement("SELECT session_hash, revoked, expires_at, redeemed_at, lease_until, user_id, couple_ids, media_type, action, options FROM tokens WHERE hash = @hash", ("hash", hash))],
                    async (_, reader) =>
                    {
                        if (await reader.ReadAsync())
                        {
                            row = new TokenRow
                            {
                                SessionHash = reader.GetString(0),
                                Revoked = reader.GetInt64(1),
                                ExpiresAt = reader.GetInt64(2),
                                RedeemedAt = await reader.IsDBNullAsync(3) ? null : reader.GetInt64(3),
                                LeaseUntil = await reader.IsDBNullAsync(4) ? null : reader.GetInt64(4),
                                UserId = reader.GetInt64(5),
                                CoupleIds = reader.GetString(6),
                                MediaType = reader.GetInt64(7),
                                Action = reader.GetString(8),
                                Options = await reader.IsDBNullAsync(9) ? null : reader.GetString(9),
                            };
                        }
                    });
                return row;
            },
            ct);

    /// <summary>
    /// A request that redeems nothing: a HEAD while the token is unused, or a range or HEAD request of the same session
    /// while the range lease runs. Null means 403.
    /// </summary>
    private static TokenGrant? Leased(TokenRow? row, SessionInfo session, bool isHead, bool hasRange, long now)
    {
        if (row is null || row.Revoked != 0 || !FixedTimeEquals(row.SessionHash, session.IdHash))
        {
            return null;
        }

        var usable = row.RedeemedAt is null
            ? isHead && row.ExpiresAt > now
            : (isHead || hasRange) && row.LeaseUntil > now;
        return usable ? Grant(row, firstUse: false) : null;
    }

    /// <summary>
    /// Writes the open audit record of a transfer that redeems nothing (a range or HEAD request within the lease) in
    /// the next group commit; returns its seq for <see cref="CompleteAsync"/>.
    /// </summary>
    public Task<long> OpenRecordAsync(AuditEntry opened) => batcher.OpenAsync(opened);

    /// <summary>
    /// Closes a transfer's open audit record (the redemption's, or a range request's), written as <paramref name="opened"/>,
    /// in the next group commit.
    /// </summary>
    public Task CompleteAsync(long auditSeq, AuditEntry? opened, AuditEntry final) => batcher.CompleteAsync(auditSeq, opened, final);

    private static bool FixedTimeEquals(string a, string b) =>
        System.Security.Cryptography.CryptographicOperations.FixedTimeEquals(
            System.Text.Encoding.ASCII.GetBytes(a), System.Text.Encoding.ASCII.GetBytes(b));

    private static TokenGrant Grant(TokenRow row, bool firstUse) =>
        Grant(new RedemptionBatcher.GrantRow { UserId = row.UserId, CoupleIds = row.CoupleIds, MediaType = row.MediaType, Action = row.Action, Options = row.Options }, firstUse);

    private static TokenGrant Grant(RedemptionBatcher.GrantRow row, bool firstUse)
    {
        var ids = row.CoupleIds.Split(',', StringSplitOptions.RemoveEmptyEntries)
            .Select(s => long.Parse(s, CultureInfo.InvariantCulture))
            .ToList();
        return new TokenGrant(row.UserId, ids, (int)row.MediaType, TokenCriteria.ParseAction(row.Action), firstUse, Options: row.Options);
    }

    private sealed class TokenRow
    {
        public long UserId { get; set; }

        public string CoupleIds { get; set; } = "";

        public long MediaType { get; set; }

        public string Action { get; set; } = "";

        public string SessionHash { get; set; } = "";

        public long Revoked { get; set; }

        public long ExpiresAt { get; set; }

        public long? RedeemedAt { get; set; }

        public long? LeaseUntil { get; set; }

        public string? Options { get; set; }
    }

}
