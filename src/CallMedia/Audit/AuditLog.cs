using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Threading.Channels;
using CallMedia.Data;
using Dapper;

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
/// Append-only, hash-chained audit log. Requests enqueue records; one writer appends them in batches, each
/// record's hash covering the previous record's hash, so an edited or deleted row breaks the chain.
/// </summary>
public sealed class AuditLog(Database db, ILogger<AuditLog> logger) : BackgroundService
{
    public const string Genesis = "0000000000000000000000000000000000000000000000000000000000000000";

    private readonly Channel<AuditEntry> _queue = Channel.CreateUnbounded<AuditEntry>(new UnboundedChannelOptions { SingleReader = true });

    private long _pending;

    public void Write(AuditEntry entry)
    {
        Interlocked.Increment(ref _pending);
        _queue.Writer.TryWrite(entry);
    }

    /// <summary>Appends records now, in one transaction (the CLI's path; the server batches through <see cref="Write"/>).</summary>
    public Task AppendAsync(IReadOnlyList<AuditEntry> entries, CancellationToken ct = default) =>
        db.WriteAsync(connection => AppendAsync(connection, entries, ct), ct);

    private async Task<int> AppendAsync(System.Data.Common.DbConnection connection, IReadOnlyList<AuditEntry> entries, CancellationToken ct)
    {
        await using var tx = await connection.BeginTransactionAsync(ct);
        await db.LockAuditChainAsync(connection, tx);
        var prev = await connection.ExecuteScalarAsync<string?>("SELECT hash FROM audit ORDER BY seq DESC LIMIT 1", transaction: tx) ?? Genesis;
        foreach (var e in entries)
        {
            var at = e.At.ToUnixTimeMilliseconds();
            var hash = ChainHash(prev, at, e.User, e.Client, e.Action, e.CoupleIds, e.Bytes, e.Outcome, e.Reason);
            await connection.ExecuteAsync(
                """
                INSERT INTO audit (at, user_name, client, action, couple_ids, bytes, outcome, reason, prev_hash, hash)
                VALUES (@at, @User, @Client, @Action, @CoupleIds, @Bytes, @Outcome, @Reason, @prev, @hash)
                """,
                new { at, e.User, e.Client, e.Action, e.CoupleIds, e.Bytes, e.Outcome, e.Reason, prev, hash },
                tx);
            prev = hash;
        }

        await tx.CommitAsync(ct);
        return entries.Count;
    }

    /// <summary>
    /// The record's hash. A reason, when there is one, is appended as a further field; records without one hash
    /// exactly as they did before the reason existed, so chains written earlier still verify.
    /// </summary>
    public static string ChainHash(string prev, long at, string? user, string? client, string action, string? coupleIds, long? bytes, string outcome, string? reason = null)
    {
        var canonical = string.Join(
            '\u001f',
            prev,
            at.ToString(CultureInfo.InvariantCulture),
            user ?? "",
            client ?? "",
            action,
            coupleIds ?? "",
            bytes?.ToString(CultureInfo.InvariantCulture) ?? "",
            outcome);
        if (reason is not null)
        {
            canonical += "\u001f" + reason;
        }

        return Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(canonical)));
    }

    /// <summary>Waits until everything written so far is in the database (tests, shutdown).</summary>
    public async Task FlushAsync(CancellationToken ct = default)
    {
        while (Interlocked.Read(ref _pending) > 0)
        {
            await Task.Delay(10, ct);
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var batch = new List<AuditEntry>(256);
        try
        {
            while (await _queue.Reader.WaitToReadAsync(stoppingToken))
            {
                await DrainAsync(batch, CancellationToken.None);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Shutting down: what is queued still goes in below.
        }

        await DrainAsync(batch, CancellationToken.None);
    }

    private async Task DrainAsync(List<AuditEntry> batch, CancellationToken ct)
    {
        while (_queue.Reader.TryRead(out var entry))
        {
            batch.Add(entry);
            if (batch.Count == 256)
            {
                await AppendWithRetryAsync(batch, ct);
            }
        }

        if (batch.Count > 0)
        {
            await AppendWithRetryAsync(batch, ct);
        }
    }

    private async Task AppendWithRetryAsync(List<AuditEntry> batch, CancellationToken ct)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await AppendAsync(batch, ct);
                Interlocked.Add(ref _pending, -batch.Count);
                batch.Clear();
                return;
            }
            catch (Exception ex)
            {
                logger.LogWarning(ex, "Audit append of {Count} records failed (attempt {Attempt}); keeping them to retry", batch.Count, attempt);
                if (attempt >= 5)
                {
                    return;
                }

                await Task.Delay(TimeSpan.FromMilliseconds(200 * attempt), ct);
            }
        }
    }
}
