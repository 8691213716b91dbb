using System.Globalization;
using CallMedia.Audit;
using CallMedia.Calls;
using CallMedia.Data;
using CallMedia.Media;
using CallMedia.Storage;
using Dapper;
using Microsoft.Extensions.Options;

namespace CallMedia.Retention;

/// <summary>Another node (or command) holds the purge lease.</summary>
public sealed class RetentionBusyException(string owner, DateTimeOffset until)
    : InvalidOperationException(string.Create(CultureInfo.InvariantCulture, $"another purge is running ({owner}, lease until {until.UtcDateTime:yyyy-MM-dd'T'HH:mm:ss'Z'}); try again later"));

/// <summary>One call the purge deleted (or, in a dry run, would delete) files of.</summary>
public sealed record PurgedCall(long CoupleId, string Sid, int Types, string Policies, int Files, long Bytes);

/// <summary>What a purge did (or would do): the calls, and the files and bytes freed (caches included).</summary>
public sealed record PurgeReport(bool DryRun, IReadOnlyList<PurgedCall> Calls, int Files, long Bytes, int QueuedLeftovers);

/// <summary>
/// Deletes the media files of calls past their retention policy, and their cached transcodes and waveforms, unless a
/// legal hold keeps them. The couple stays as a tombstone (<see cref="Couple.PurgedTypes"/>) so tokens and zips name it
/// <c>purged</c>. Crash-safe in two steps: one transaction deletes a batch's file rows, moves their paths to
/// <c>purge_queue</c> and writes one audit record per call; only then are the files deleted, each queue row after its
/// file. A purge killed at any point leaves no row naming a missing file, and the queue names every file not yet
/// deleted: the next run deletes those first. One node runs it at a time (the <c>retention</c> lease row).
/// </summary>
public sealed partial class RetentionPurge(
    Database db, CallStore calls, RetentionStore store, IMediaStorage storage, TranscodeCache transcodes, WaveformPeaks peaks,
    TimeProvider clock, IOptions<RetentionOptions> options, IOptions<MediaOptions> mediaOptions, ILogger<RetentionPurge> logger)
{
    public const string LeaseName = "retention";

    public const string AuditAction = "retention.purge";

    private long Now => clock.GetUtcNow().ToUnixTimeMilliseconds();

    private string Owner => mediaOptions.Value.NodeName;

    /// <summary>Runs the purge (or, with <paramref name="dryRun"/>, only says what it would delete and changes nothing).</summary>
    /// <param name="dryRun">Look only.</param>
    /// <param name="by">Who runs it, for the audit records (<c>cli:name</c>, a user, <c>schedule</c>).</param>
    /// <param name="client">Where from, for the audit records.</param>
    /// <param name="ct">Stops the run between files; what is queued is finished by the next run.</param>
    /// <param name="committed">Told of each batch once its rows are out and its files queued (before they are deleted).</param>
    public async Task<PurgeReport> RunAsync(bool dryRun, string by, string? client, Func<IReadOnlyList<PurgedCall>, Task>? committed = null, CancellationToken ct = default)
    {
        if (dryRun)
        {
            return await ScanAsync(null, by, client, null, ct);
        }

        await AcquireAsync(ct);
        try
        {
            var leftovers = await DrainAsync(ct);
            var report = await ScanAsync(new List<PurgedCall>(), by, client, committed, ct);
            return report with { QueuedLeftovers = leftovers };
        }
        finally
        {
            await ReleaseAsync();
        }
    }

    private async Task<PurgeReport> ScanAsync(List<PurgedCall>? done, string by, string? client, Func<IReadOnlyList<PurgedCall>, Task>? committed, CancellationToken ct)
    {
        var dryRun = done is null;
        var found = new List<PurgedCall>();
        var policies = await store.PoliciesAsync(ct);
        if (policies.Count == 0)
        {
            return new PurgeReport(dryRun, found, 0, 0, 0);
        }

        var files = 0;
        long bytes = 0;
        long after = 0;
        while (true)
        {
            var now = clock.GetUtcNow();

            // No call ended later than this can be due under any policy.
            var cutoff = now.AddDays(-policies.Min(p => p.Period.MinimumDays)).ToUnixTimeMilliseconds();
            var page = await CandidatesAsync(after, cutoff, ct);
            if (page.Count == 0)
            {
                break;
            }

            after = page[^1].Id;
            var byCouple = await calls.GetFilesAsync(page.Select(c => c.Id).ToList(), ct);
            IReadOnlyList<LegalHold> holds;
            await using (var connection = await db.OpenAsync(ct))
            {
                holds = await RetentionStore.ActiveHoldsAsync(connection, null);
            }

            var due = page.Select(c => RetentionRules.Plan(c, byCouple[c.Id].ToList(), policies, holds, now)).OfType<PurgeCandidate>().ToList();
            if (due.Count == 0)
            {
                continue;
            }

            var batch = dryRun ? due.Select(d => Describe(d, DerivedFiles(d))).ToList() : await PurgeBatchAsync(due, policies, by, client, ct);
            found.AddRange(batch);
            files += batch.Sum(c => c.Files);
            bytes += batch.Sum(c => c.Bytes);
            if (!dryRun)
            {
                if (committed is not null)
                {
                    await committed(batch);
                }

                await RenewAsync(ct);
                await DrainAsync(ct);
            }
        }

        return new PurgeReport(dryRun, found, files, bytes, 0);
    }

    private async Task<List<Couple>> CandidatesAsync(long after, long cutoff, CancellationToken ct)
    {
        await using var connection = await db.OpenAsync(ct);
        return (await connection.QueryAsync<Couple>(
            """
            SELECT id, sid, start_at, stop_at, calling_number, calling_name, called_number, called_name, types, purged_types
            FROM couples WHERE id > @after AND types <> 0 AND stop_at <= @cutoff ORDER BY id LIMIT @limit
            """,
            new { after, cutoff, limit = options.Value.BatchSize })).ToList();
    }

    /// <summary>The batch's file rows out and their paths into the queue, with one audit record per call, in one transaction.</summary>
    private Task<List<PurgedCall>> PurgeBatchAsync(IReadOnlyList<PurgeCandidate> due, IReadOnlyList<RetentionPolicy> policies, string by, string? client, CancellationToken ct) =>
        db.WriteAsync(
            async connection =>
            {
                var purged = new List<PurgedCall>();
                await using var tx = await connection.BeginTransactionAsync(ct);

                // Decided again inside the transaction: a hold placed, or a file added, since the look. A hold being
                // placed right now is waited for, and one placed from here on waits for this batch.
                await RetentionStore.LockHoldsAsync(db, connection, tx);
                var holds = await RetentionStore.ActiveHoldsAsync(connection, tx);
                var now = clock.GetUtcNow();
                foreach (var look in due)
                {
                    var files = (await connection.QueryAsync<MediaFile>(
                        "SELECT id, couple_id, type, path, format, size, crc32, start_at, stop_at FROM media_files WHERE couple_id = @Id",
                        new { look.Couple.Id },
                        tx)).ToList();
                    if (RetentionRules.Plan(look.Couple, files, policies, holds, now) is not { } plan)
                    {
                        continue;
                    }

                    var derived = DerivedFiles(plan);
                    var gone = await CallWriter.PurgeFilesAsync(connection, tx, plan.Couple.Id, plan.Types, Now);
                    foreach (var path in gone.Select(f => f.Path).Distinct(StringComparer.Ordinal))
                    {
                        if (!await CallWriter.IsPathReferencedAsync(connection, tx, path))
                        {
                            await QueueAsync(connection, tx, plan.Couple.Id, path);
                        }
                    }

                    foreach (var path in derived)
                    {
                        await QueueAsync(connection, tx, plan.Couple.Id, path);
                    }

                    var call = Describe(plan with { Files = gone }, derived);
                    await AuditLog.InsertAsync(
                        connection,
                        tx,
                        new AuditEntry(now, by, client, AuditAction, plan.Couple.Id.ToString(CultureInfo.InvariantCulture), call.Bytes, "purged", $"policy {plan.Policies}; types {plan.Types}; {call.Files} files"),
                        open: false);
                    purged.Add(call);
                }

                await tx.CommitAsync(ct);
                return purged;
            },
            ct);

    private Task<int> QueueAsync(System.Data.Common.DbConnection connection, System.Data.Common.DbTransaction tx, long coupleId, string path) =>
        connection.ExecuteAsync("INSERT INTO purge_queue (couple_id, path, queued_at) VALUES (@coupleId, @path, @at)", new { coupleId, path, at = Now }, tx);

    /// <summary>The caches made from the files that go: the MP3 transcode and the waveform of the couple's sound.</summary>
    private List<string> DerivedFiles(PurgeCandidate plan)
    {
        var derived = new List<string>();
        var audio = plan.Files.Where(f => f.Type == MediaType.Audio).ToList();
        if (audio.Count > 0)
        {
            derived.AddRange(transcodes.CachePathsFor(audio));
            derived.Add(peaks.CachePathFor(audio));
        }

        foreach (var video in plan.Files.Where(f => f.Type == MediaType.Video))
        {
            derived.Add(peaks.CachePathFor([video]));
        }

        // Only caches that are there are queued; no transcode of these files can start once their rows are gone.
        return derived.Where(storage.Exists).ToList();
    }

    private static PurgedCall Describe(PurgeCandidate plan, IReadOnlyList<string> derived)
    {
        var cached = derived.Select(p => new FileInfo(p)).Where(f => f.Exists).ToList();
        return new PurgedCall(plan.Couple.Id, plan.Couple.Sid, plan.Types, plan.Policies, plan.Files.Count + cached.Count, plan.Files.Sum(f => f.Size) + cached.Sum(f => f.Length));
    }

    /// <summary>Deletes the queued files, each before its queue row; returns how many rows it finished.</summary>
    private async Task<int> DrainAsync(CancellationToken ct)
    {
        var finished = 0;
        long after = 0;
        while (true)
        {
            List<(long Id, string Path)> rows;
            await using (var connection = await db.OpenAsync(ct))
            {
                rows = (await connection.QueryAsync<(long, string)>("SELECT id, path FROM purge_queue WHERE id > @after ORDER BY id LIMIT 500", new { after })).ToList();
            }

            if (rows.Count == 0)
            {
                return finished;
            }

            foreach (var (id, path) in rows)
            {
                after = id;
                ct.ThrowIfCancellationRequested();
                bool referenced;
                await using (var connection = await db.OpenAsync(ct))
                {
                    // A path imported again since it was queued is a live file now.
                    referenced = await CallWriter.IsPathReferencedAsync(connection, null, path);
                }

                if (!referenced && !TryDelete(path))
                {
                    continue;
                }

                await db.WriteAsync(connection => connection.ExecuteAsync("DELETE FROM purge_queue WHERE id = @id", new { id }), ct);
                finished++;
                if (options.Value.DeletePause > TimeSpan.Zero)
                {
                    await Task.Delay(options.Value.DeletePause, ct);
                }
            }
        }
    }

    private bool TryDelete(string storedPath)
    {
        try
        {
            DeleteStoredFile(storage, storedPath);
            return true;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or InvalidDataException)
        {
            // Left in the queue: the next run tries again, and nothing names the file but the queue.
            LogDeleteFailed(logger, ex.Message);
            return false;
        }
    }

    /// <summary>The one place the purge removes a file from storage. A file already gone is not an error (a re-run).</summary>
    public static void DeleteStoredFile(IMediaStorage storage, string storedPath)
    {
        try
        {
            storage.Delete(storedPath);
        }
        catch (DirectoryNotFoundException)
        {
        }
    }

    private async Task AcquireAsync(CancellationToken ct)
    {
        var now = Now;
        var taken = await db.WriteAsync(
            connection => connection.ExecuteAsync(
                "UPDATE leases SET owner = @owner, lease_until = @until WHERE name = @LeaseName AND (owner IS NULL OR owner = @owner OR lease_until < @now)",
                new { owner = Owner, until = now + (long)options.Value.Lease.TotalMilliseconds, now, LeaseName }),
            ct);
        if (taken == 1)
        {
            return;
        }

        await using var connection = await db.OpenAsync(ct);
        var (holder, until) = await connection.QuerySingleAsync<(string?, long)>("SELECT owner, lease_until FROM leases WHERE name = @LeaseName", new { LeaseName });
        throw new RetentionBusyException(holder ?? "?", DateTimeOffset.FromUnixTimeMilliseconds(until));
    }

    private async Task RenewAsync(CancellationToken ct)
    {
        var renewed = await db.WriteAsync(
            connection => connection.ExecuteAsync(
                "UPDATE leases SET lease_until = @until WHERE name = @LeaseName AND owner = @owner",
                new { owner = Owner, until = Now + (long)options.Value.Lease.TotalMilliseconds, LeaseName }),
            ct);
        if (renewed != 1)
        {
            throw new InvalidOperationException("the purge lease was taken over by another node; this run stops (the other finishes the work)");
        }
    }

    private Task<int> ReleaseAsync() =>
        db.WriteAsync(connection => connection.ExecuteAsync(
            "UPDATE leases SET owner = NULL, lease_until = 0 WHERE name = @LeaseName AND owner = @owner", new { owner = Owner, LeaseName }));

    [LoggerMessage(EventId = 70, Level = LogLevel.Warning, Message = "Retention purge could not delete a file (left queued for the next run): {Reason}")]
    private static partial void LogDeleteFailed(ILogger logger, string reason);
}
