using System.Buffers;
using System.Data.Common;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using CallMedia.Data;
using Dapper;
using Microsoft.Extensions.Options;

namespace CallMedia.Audit;

/// <summary>One audit record before it is chained (API.md §7).</summary>
public sealed record AuditEntry(
    DateTimeOffset At,
    string? User,
    string? Client,
    string Action,
    string? CoupleIds,
    long? Bytes,
    string Outcome,
    string? Reason = null);

/// <summary>
/// Append-only, hash-chained audit log. Every record is written durably, by a plain INSERT, before the request it
/// records goes on (a redemption's record in the redeeming transaction itself, see <see cref="InsertAsync"/>), so a
/// crash loses none. Records are inserted unchained (except those a writer holding the chain writes chained,
/// <see cref="InlineChain"/>); this service, on every node, then gives closed records their
/// place in the chain (<c>chain_seq</c>, <c>prev_hash</c>, <c>hash</c>) under the chain lock, each hash covering
/// the previous one, so an edited or deleted row breaks the chain. A transfer's record is inserted open (outcome
/// <see cref="Started"/>) and closed by <see cref="CompleteAsync"/> with the bytes sent and the outcome; one left open
/// by a node that died is chained as it stands after <see cref="AuditOptions.ChainOpenAfter"/>.
/// </summary>
public sealed class AuditLog(Database db, TimeProvider clock, IOptions<AuditOptions> options, ILogger<AuditLog> logger) : BackgroundService
{
    public const string Genesis = "0000000000000000000000000000000000000000000000000000000000000000";

    /// <summary>The outcome of a transfer's record until the transfer ends.</summary>
    public const string Started = "started";

    private const int ChainBatch = 500;

    /// <summary>Writes a closed record now (durable when this returns).</summary>
    public Task WriteAsync(AuditEntry entry, CancellationToken ct = default) =>
        db.WriteAsync(connection => InsertAsync(connection, null, entry, open: false), ct);

    /// <summary>Appends records now, in one transaction, and chains them (the CLI's path: it has no chainer running).</summary>
    public async Task AppendAsync(IReadOnlyList<AuditEntry> entries, CancellationToken ct = default)
    {
        await db.WriteAsync(
            async connection =>
            {
                await using var tx = await connection.BeginTransactionAsync(ct);
                foreach (var e in entries)
                {
                    await InsertAsync(connection, tx, e, open: false);
                }

                await tx.CommitAsync(ct);
                return entries.Count;
            },
            ct);
        await ChainAsync(ct);
    }

    /// <summary>
    /// The one INSERT of a record, unchained, inside the caller's transaction when it has one (a redemption, a token
    /// issue). No chain lock: concurrent writers never wait for each other here.
    /// </summary>
    public static async Task<long> InsertAsync(DbConnection connection, DbTransaction? tx, AuditEntry e, bool open) =>
        await StatementPipeline.ScalarAsync(connection, tx, InsertStatement(e, open)) ?? throw new InvalidOperationException("the audit INSERT returned no seq");

    /// <summary>
    /// The INSERT of <see cref="InsertAsync"/> as a statement of a pipeline; it returns the record's seq.
    /// <paramref name="link"/>: the record's place in the chain, for a writer holding it (<see cref="InlineChain"/>).
    /// </summary>
    public static Statement InsertStatement(AuditEntry e, bool open, (long ChainSeq, string Prev, string Hash)? link = null) =>
        new(
            InsertSql,
            ("at", e.At.ToUnixTimeMilliseconds()),
            ("User", e.User),
            ("Client", e.Client),
            ("Action", e.Action),
            ("CoupleIds", e.CoupleIds),
            ("Bytes", e.Bytes),
            ("Outcome", e.Outcome),
            ("Reason", e.Reason),
            ("inProgress", open ? 1L : 0L),
            ("prev", link?.Prev ?? ""),
            ("hash", link?.Hash ?? ""),
            ("chainSeq", link?.ChainSeq))
        {
            KeyOnly = InsertKeyOnly,
        };

    private const string InsertWrite =
        """
        INSERT INTO audit (at, user_name, client, action, couple_ids, bytes, outcome, reason, prev_hash, hash, in_progress, chain_seq)
        VALUES (@at, @User, @Client, @Action, @CoupleIds, @Bytes, @Outcome, @Reason, @prev, @hash, @inProgress, @chainSeq)
        """;

    private const string InsertSql = InsertWrite + "\nRETURNING seq";

    /// <summary>seq is the table's rowid: on SQLite the INSERT runs without its RETURNING clause (one temporary table less per record).</summary>
    private static readonly KeyOnlyWrite InsertKeyOnly = new(InsertWrite, Column: "seq");

    /// <summary>
    /// Closes a transfer's open record with the bytes handed to the transport and the outcome. If the record was
    /// already chained as it stood (the transfer outlived <see cref="AuditOptions.ChainOpenAfter"/>), a closing record
    /// with the same action and couples is written instead.
    /// </summary>
    public Task CompleteAsync(long seq, AuditEntry final, CancellationToken ct = default) =>
        db.WriteAsync(connection => CompleteAsync(connection, null, seq, final), ct);

    /// <summary><see cref="CompleteAsync(long, AuditEntry, CancellationToken)"/> inside the caller's transaction (a group commit).</summary>
    public static async Task<long> CompleteAsync(DbConnection connection, DbTransaction? tx, long seq, AuditEntry final)
    {
        var closed = await StatementPipeline.ScalarAsync(connection, tx, CloseStatement(seq, final));
        return closed ?? await InsertAsync(connection, tx, final, open: false);
    }

    /// <summary>
    /// The UPDATE of <see cref="CompleteAsync(DbConnection, DbTransaction?, long, AuditEntry)"/> as a statement of a
    /// pipeline: it returns the seq when it closed the record, no row when the record was chained already (then the
    /// caller inserts <paramref name="final"/> as a closing record).
    /// </summary>
    public static Statement CloseStatement(long seq, AuditEntry final) =>
        new(CloseWrite + " RETURNING seq", ("Bytes", final.Bytes), ("Outcome", final.Outcome), ("seq", seq)) { KeyOnly = CloseKeyOnly };

    private const string CloseWrite = "UPDATE audit SET bytes = @Bytes, outcome = @Outcome, in_progress = 0 WHERE seq = @seq AND chain_seq IS NULL";

    private static readonly KeyOnlyWrite CloseKeyOnly = new(CloseWrite, "seq");

    /// <summary>
    /// The record's hash: SHA-256, in upper-case hex, of its fields as UTF-8 text, each after a separator (U+001F)
    /// but the first: the previous hash, the time, user, client, action, couple ids, bytes, outcome, and the reason
    /// when there is one. Records without a reason hash exactly as they did before the reason existed, so chains
    /// written earlier still verify. A field's separator (U+001F) and escape (U+001E) characters are escaped, so text
    /// cannot be moved from one field into the next (a reason's end into the outcome) under the same hash; fields
    /// without either, which is every field ever written by CallMedia's own inputs, hash as before. Written in pooled
    /// buffers: every transfer's record is hashed as its transfer ends.
    /// </summary>
    public static string ChainHash(string prev, long at, string? user, string? client, string action, string? coupleIds, long? bytes, string outcome, string? reason = null)
    {
        // Each text field at most doubles when escaped; each number takes at most 20 characters; 8 separators. A field
        // read back as null (a row edited by hand) hashes as empty, as it always did, and then fails verification.
        var longest = checked((prev?.Length ?? 0) + 40 + 8 + (2 * ((user?.Length ?? 0) + (client?.Length ?? 0) + (action?.Length ?? 0) + (coupleIds?.Length ?? 0) + (outcome?.Length ?? 0) + (reason?.Length ?? 0))));
        var chars = ArrayPool<char>.Shared.Rent(longest);
        byte[]? utf8 = null;
        try
        {
            var text = new CanonicalText(chars);
            text.Add(prev);
            text.Add(at);
            text.AddField(user);
            text.AddField(client);
            text.AddField(action);
            text.AddField(coupleIds);
            text.Add(bytes);
            text.AddField(outcome);
            if (reason is not null)
            {
                text.AddField(reason);
            }

            var canonical = chars.AsSpan(0, text.Length);
            utf8 = ArrayPool<byte>.Shared.Rent(Encoding.UTF8.GetMaxByteCount(canonical.Length));
            var length = Encoding.UTF8.GetBytes(canonical, utf8);
            Span<byte> hash = stackalloc byte[SHA256.HashSizeInBytes];
            SHA256.HashData(utf8.AsSpan(0, length), hash);
            return Convert.ToHexString(hash);
        }
        finally
        {
            ArrayPool<char>.Shared.Return(chars);
            if (utf8 is not null)
            {
                ArrayPool<byte>.Shared.Return(utf8);
            }
        }
    }

    /// <summary>The text a record's hash is taken of, written field by field into a buffer long enough for all of it.</summary>
    private struct CanonicalText(char[] buffer)
    {
        private const char Separator = '\u001f';
        private const char Escape = '\u001e';

        private bool _started;

        public int Length { get; private set; }

        /// <summary>A field written as it is (the previous hash; null as empty).</summary>
        public void Add(string? value)
        {
            Separate();
            Write(value);
        }

        /// <summary>A number in invariant digits; nothing for null.</summary>
        public void Add(long? value)
        {
            Separate();
            if (value is { } number)
            {
                if (!number.TryFormat(buffer.AsSpan(Length), out var written, provider: CultureInfo.InvariantCulture))
                {
                    throw new InvalidOperationException("the chain hash's text buffer is too short");
                }

                Length += written;
            }
        }

        /// <summary>A text field (nothing for null), its separator and escape characters escaped.</summary>
        public void AddField(string? value)
        {
            Separate();
            var rest = (value ?? "").AsSpan();
            for (var special = rest.IndexOfAny(Escape, Separator); special >= 0; special = rest.IndexOfAny(Escape, Separator))
            {
                Write(rest[..special]);
                buffer[Length++] = Escape;
                buffer[Length++] = rest[special];
                rest = rest[(special + 1)..];
            }

            Write(rest);
        }

        private void Separate()
        {
            if (_started)
            {
                buffer[Length++] = Separator;
            }

            _started = true;
        }

        private void Write(ReadOnlySpan<char> value)
        {
            value.CopyTo(buffer.AsSpan(Length));
            Length += value.Length;
        }
    }

    /// <summary>Chains every record that is ready now (tests, the CLI); returns how many were chained.</summary>
    public Task<int> FlushAsync(CancellationToken ct = default) => ChainAsync(ct);

    /// <summary>
    /// Gives every closed unchained record, and every open one older than <see cref="AuditOptions.ChainOpenAfter"/>,
    /// the next place in the chain, in seq order, a batch per transaction under the chain lock (one chainer at a
    /// time across all nodes). Chain order is its own column: on PostgreSQL identity order is not commit order, so a
    /// record committed late simply joins the chain later.
    /// </summary>
    public async Task<int> ChainAsync(CancellationToken ct = default)
    {
        var total = 0;
        while (true)
        {
            var chained = await db.WriteAsync(connection => ChainBatchAsync(connection, ct), ct);
            total += chained;
            if (chained < ChainBatch)
            {
                return total;
            }
        }
    }

    private async Task<int> ChainBatchAsync(DbConnection connection, CancellationToken ct)
    {
        await using var tx = await connection.BeginTransactionAsync(ct);
        await db.LockAuditChainAsync(connection, tx);
        var cutoff = (clock.GetUtcNow() - options.Value.ChainOpenAfter).ToUnixTimeMilliseconds();
        // FOR UPDATE: a transfer completing now waits, then finds its record chained and writes a closing record.
        // Each kind found through its own partial index (migration 14): closed records by seq, open ones by time, so
        // neither walks the open records of transfers under way, nor (PostgreSQL) the index entries their closing
        // UPDATEs left dead until a vacuum — a walk that made every pass, even one that found nothing, hold the chain
        // for tens of milliseconds under load, and the group commit leave its records to the next pass meanwhile.
        var rows = (await connection.QueryAsync<AuditChain.AuditRow>(
            $"""
            SELECT seq, at, user_name, client, action, couple_ids, bytes, outcome, reason, in_progress FROM audit
            WHERE seq IN (
                SELECT seq FROM (SELECT seq FROM audit WHERE chain_seq IS NULL AND in_progress = 0 ORDER BY seq LIMIT {ChainBatch}) closed
                UNION ALL
                SELECT seq FROM (SELECT seq FROM audit WHERE chain_seq IS NULL AND in_progress = 1 AND at <= @cutoff ORDER BY at LIMIT {ChainBatch}) stale)
              AND chain_seq IS NULL AND (in_progress = 0 OR at <= @cutoff)
            ORDER BY seq LIMIT {ChainBatch}{(db.Kind == DbKind.Postgres ? " FOR UPDATE" : "")}
            """,
            new { cutoff },
            tx)).ToList();
        if (rows.Count == 0)
        {
            await tx.RollbackAsync(ct);
            return 0;
        }

        var head = await connection.QuerySingleOrDefaultAsync<AuditChain.AuditRow>(
            "SELECT chain_seq, hash FROM audit WHERE chain_seq IS NOT NULL ORDER BY chain_seq DESC LIMIT 1", transaction: tx);
        var (chainSeq, prev) = head is null ? (0L, Genesis) : (head.ChainSeq!.Value, head.Hash);
        var links = new List<Statement>(rows.Count);
        foreach (var r in rows)
        {
            chainSeq++;
            var hash = ChainHash(prev, r.At, r.UserName, r.Client, r.Action, r.CoupleIds, r.Bytes, r.Outcome, r.Reason);
            links.Add(new Statement(
                """
                UPDATE audit SET chain_seq = @chainSeq, prev_hash = @prev, hash = @hash
                WHERE seq = @Seq AND chain_seq IS NULL AND in_progress = @InProgress AND outcome = @Outcome
                RETURNING seq
                """,
                ("chainSeq", chainSeq),
                ("prev", prev),
                ("hash", hash),
                ("Seq", r.Seq),
                ("InProgress", r.InProgress),
                ("Outcome", r.Outcome)));
            prev = hash;
        }

        // One UPDATE per record by its key (a plan PostgreSQL never gets wrong), all sent as one pipeline.
        await StatementPipeline.RunAsync(
            connection,
            tx,
            links,
            async (i, reader) =>
            {
                if (!await reader.ReadAsync())
                {
                    // Changed since it was read (possible only where rows are not locked): try again next round.
                    throw new InvalidOperationException($"audit record {rows[i].Seq} changed while being chained");
                }
            });

        await tx.CommitAsync(ct);
        return rows.Count;
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await ChainAsync(stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                break;
            }
            catch (Exception ex)
            {
                // The records are safe in the table; chaining is only late. The next round tries again.
                logger.LogWarning(ex, "Chaining audit records failed; will retry");
            }

            try
            {
                await Task.Delay(options.Value.ChainInterval, stoppingToken);
            }
            catch (OperationCanceledException)
            {
                break;
            }
        }

        // A last pass so a clean shutdown leaves nothing closed unchained.
        try
        {
            await ChainAsync(CancellationToken.None);
        }
        catch (Exception ex)
        {
            logger.LogWarning(ex, "Chaining audit records at shutdown failed; the next node to run chains them");
        }
    }
}
