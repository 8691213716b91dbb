using CallMedia.Audit;
using CallMedia.Data;
using Dapper;

namespace CallMedia.Retention;

/// <summary>What a new hold names: exactly one of a couple id, a sid, a number, or a time range of the call's start.</summary>
public sealed record NewHold(long? CoupleId, string? Sid, string? Number, DateTimeOffset? From, DateTimeOffset? To, string Reason);

/// <summary>
/// Retention policies and legal holds, as data. Every change is checked first (bad input changes nothing) and written
/// with its audit record in one transaction.
/// </summary>
public sealed class RetentionStore(Database db, TimeProvider clock)
{
    private const string PolicyColumns = "id, name, media, numbers, keep, created_by, created_at";
    private const string HoldColumns = "id, couple_id, sid, number, from_at, to_at, reason, placed_by, placed_at, released_at, released_by, release_reason";

    public async Task<IReadOnlyList<RetentionPolicy>> PoliciesAsync(CancellationToken ct = default)
    {
        await using var connection = await db.OpenAsync(ct);
        return (await connection.QueryAsync<RetentionPolicy>($"SELECT {PolicyColumns} FROM retention_policies ORDER BY name")).ToList();
    }

    public async Task<RetentionPolicy> AddPolicyAsync(string name, string media, IReadOnlyCollection<string> numbers, string keep, AuditEntry audit, CancellationToken ct = default)
    {
        name = name.Trim();
        if (name.Length is 0 or > 100 || name.Any(char.IsControl))
        {
            throw new RetentionInputException("name must be 1 to 100 characters, without control characters.", "name");
        }

        RetentionRules.TypeBits(media);
        var period = KeepPeriod.Parse(keep);
        var list = numbers.Select(n => n.Trim()).Where(n => n.Length > 0).Distinct(StringComparer.Ordinal).ToList();
        if (list.Any(n => n.Length > 64 || n.Any(c => c == ',' || char.IsControl(c))))
        {
            throw new RetentionInputException("numbers must be phone numbers or extensions (at most 64 characters, no commas).", "numbers");
        }

        return await db.WriteAsync(
            async connection =>
            {
                await using var tx = await connection.BeginTransactionAsync(ct);
                if (await connection.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM retention_policies WHERE name = @name", new { name }, tx) > 0)
                {
                    throw new RetentionInputException($"a policy named '{name}' exists already.", "name");
                }

                var policy = await connection.QuerySingleAsync<RetentionPolicy>(
                    $"""
                    INSERT INTO retention_policies (name, media, numbers, keep, created_by, created_at)
                    VALUES (@name, @media, @numbers, @keep, @by, @at) RETURNING {PolicyColumns}
                    """,
                    new { name, media, numbers = string.Join(',', list), keep = period.ToString(), by = audit.User ?? "", at = clock.GetUtcNow().ToUnixTimeMilliseconds() },
                    tx);
                await AuditLog.InsertAsync(connection, tx, audit with { Action = $"admin.retention.policy.add:{name}:{media}:{period}" }, open: false);
                await tx.CommitAsync(ct);
                return policy;
            },
            ct);
    }

    /// <summary>Deletes a policy by id; false when there is none.</summary>
    public Task<bool> DeletePolicyAsync(long id, AuditEntry audit, CancellationToken ct = default) =>
        db.WriteAsync(
            async connection =>
            {
                await using var tx = await connection.BeginTransactionAsync(ct);
                var name = await connection.ExecuteScalarAsync<string?>("SELECT name FROM retention_policies WHERE id = @id", new { id }, tx);
                if (name is null)
                {
                    return false;
                }

                await connection.ExecuteAsync("DELETE FROM retention_policies WHERE id = @id", new { id }, tx);
                await AuditLog.InsertAsync(connection, tx, audit with { Action = $"admin.retention.policy.delete:{name}" }, open: false);
                await tx.CommitAsync(ct);
                return true;
            },
            ct);

    public async Task<long?> PolicyIdAsync(string name, CancellationToken ct = default)
    {
        await using var connection = await db.OpenAsync(ct);
        return await connection.ExecuteScalarAsync<long?>("SELECT id FROM retention_policies WHERE name = @name", new { name });
    }

    /// <summary>Holds, newest first; with <paramref name="activeOnly"/> only those not released.</summary>
    public async Task<IReadOnlyList<LegalHold>> HoldsAsync(bool activeOnly, CancellationToken ct = default)
    {
        await using var connection = await db.OpenAsync(ct);
        return (await connection.QueryAsync<LegalHold>(
            $"SELECT {HoldColumns} FROM legal_holds {(activeOnly ? "WHERE released_at IS NULL" : "")} ORDER BY id DESC")).ToList();
    }

    /// <summary>The active holds, read inside the purge's transaction so a hold placed meanwhile is seen.</summary>
    /// <summary>The PostgreSQL advisory lock that placing a hold and a purge batch take first in their transactions.</summary>
    public const long HoldLockKey = 0x43_4D_48_4F_4C_44; // "CMHOLD"

    /// <summary>
    /// Serialises placing a hold with a purge batch until the transaction ends: a purge batch that reads the holds
    /// waits for a hold being placed and sees it, and a hold placed while a batch deletes waits for it to commit.
    /// On PostgreSQL, where read-committed transactions would otherwise interleave; SQLite runs one writer at a time.
    /// </summary>
    public static async Task LockHoldsAsync(Database db, System.Data.Common.DbConnection connection, System.Data.Common.DbTransaction tx)
    {
        if (db.Kind == DbKind.Postgres)
        {
            await connection.ExecuteAsync("SELECT pg_advisory_xact_lock(@HoldLockKey)", new { HoldLockKey }, tx);
        }
    }

    public static async Task<IReadOnlyList<LegalHold>> ActiveHoldsAsync(System.Data.Common.DbConnection connection, System.Data.Common.DbTransaction? tx) =>
        (await connection.QueryAsync<LegalHold>($"SELECT {HoldColumns} FROM legal_holds WHERE released_at IS NULL", transaction: tx)).ToList();

    public async Task<LegalHold> PlaceHoldAsync(NewHold hold, AuditEntry audit, CancellationToken ct = default)
    {
        var kinds = (hold.CoupleId is not null ? 1 : 0) + (string.IsNullOrWhiteSpace(hold.Sid) ? 0 : 1) + (string.IsNullOrWhiteSpace(hold.Number) ? 0 : 1)
            + (hold.From is not null || hold.To is not null ? 1 : 0);
        if (kinds != 1)
        {
            throw new RetentionInputException("a hold names exactly one of: a call id, a sid, a number, or a time range (from and/or to).");
        }

        if (hold.CoupleId is <= 0)
        {
            throw new RetentionInputException("the call id must be a positive integer.", "callId");
        }

        if (hold.From is { } from && hold.To is { } to && to <= from)
        {
            throw new RetentionInputException("to must be after from.", "to");
        }

        var reason = hold.Reason.Trim();
        if (reason.Length is 0 or > 1000 || reason.Any(char.IsControl))
        {
            throw new RetentionInputException("a hold needs a reason (1 to 1000 characters, without control characters).", "reason");
        }

        return await db.WriteAsync(
            async connection =>
            {
                await using var tx = await connection.BeginTransactionAsync(ct);
                await LockHoldsAsync(db, connection, tx);
                if (hold.CoupleId is { } id && await connection.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM couples WHERE id = @id", new { id }, tx) == 0)
                {
                    throw new RetentionInputException($"there is no call {id}.", "callId");
                }

                var placed = await connection.QuerySingleAsync<LegalHold>(
                    $"""
                    INSERT INTO legal_holds (couple_id, sid, number, from_at, to_at, reason, placed_by, placed_at)
                    VALUES (@CoupleId, @sid, @number, @from, @to, @reason, @by, @at) RETURNING {HoldColumns}
                    """,
                    new
                    {
                        hold.CoupleId,
                        sid = string.IsNullOrWhiteSpace(hold.Sid) ? null : hold.Sid.Trim(),
                        number = string.IsNullOrWhiteSpace(hold.Number) ? null : hold.Number.Trim(),
                        from = hold.From?.ToUnixTimeMilliseconds(),
                        to = hold.To?.ToUnixTimeMilliseconds(),
                        reason,
                        by = audit.User ?? "",
                        at = clock.GetUtcNow().ToUnixTimeMilliseconds(),
                    },
                    tx);
                await AuditLog.InsertAsync(connection, tx, audit with { Action = $"admin.retention.hold.place:{placed.Id}", CoupleIds = hold.CoupleId?.ToString(System.Globalization.CultureInfo.InvariantCulture), Reason = reason }, open: false);
                await tx.CommitAsync(ct);
                return placed;
            },
            ct);
    }

    /// <summary>Releases an active hold, recording who and why; null when there is no such hold, the hold unchanged when it was released already.</summary>
    public Task<(LegalHold Hold, bool Released)?> ReleaseHoldAsync(long id, string? reason, AuditEntry audit, CancellationToken ct = default)
    {
        reason = string.IsNullOrWhiteSpace(reason) ? null : reason.Trim();
        if (reason is { Length: > 1000 } || (reason is not null && reason.Any(char.IsControl)))
        {
            throw new RetentionInputException("the reason may be at most 1000 characters, without control characters.", "reason");
        }

        return db.WriteAsync<(LegalHold, bool)?>(
            async connection =>
            {
                await using var tx = await connection.BeginTransactionAsync(ct);
                var released = await connection.ExecuteAsync(
                    "UPDATE legal_holds SET released_at = @at, released_by = @by, release_reason = @reason WHERE id = @id AND released_at IS NULL",
                    new { id, at = clock.GetUtcNow().ToUnixTimeMilliseconds(), by = audit.User ?? "", reason },
                    tx) == 1;
                var hold = await connection.QuerySingleOrDefaultAsync<LegalHold>($"SELECT {HoldColumns} FROM legal_holds WHERE id = @id", new { id }, tx);
                if (hold is null)
                {
                    return null;
                }

                if (released)
                {
                    await AuditLog.InsertAsync(connection, tx, audit with { Action = $"admin.retention.hold.release:{id}", CoupleIds = hold.CoupleId?.ToString(System.Globalization.CultureInfo.InvariantCulture), Reason = reason }, open: false);
                }

                await tx.CommitAsync(ct);
                return (hold, released);
            },
            ct);
    }
}
