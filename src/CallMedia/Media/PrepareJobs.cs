using System.Collections.Concurrent;
using CallMedia.Calls;
using CallMedia.Data;
using Dapper;
using Microsoft.Extensions.Options;

namespace CallMedia.Media;

/// <summary>The life of a prepare job; stored (and shown to clients) by <see cref="JobStates.Name"/>.</summary>
public enum JobState
{
    Queued,
    Running,
    Done,
    Failed,
}

public static class JobStates
{
    /// <summary>The name in the <c>jobs.state</c> column and in the <c>&lt;job state=".."&gt;</c> answer (API.md §3).</summary>
    public static string Name(JobState state) => state switch
    {
        JobState.Queued => "queued",
        JobState.Running => "running",
        JobState.Done => "done",
        JobState.Failed => "failed",
        _ => throw new ArgumentOutOfRangeException(nameof(state)),
    };
}

/// <summary>A prepare job as clients see it.</summary>
public sealed class JobStatus
{
    public long Id { get; set; }

    public long CoupleId { get; set; }

    public JobState State { get; set; }

    public long Progress { get; set; }

    public string? Error { get; set; }

    public bool Finished => State is JobState.Done or JobState.Failed;
}

/// <summary>
/// Prepare jobs are database rows, so every node sees them. A couple has at most one active job (a unique index),
/// so a second prepare joins the first. A node claims a job with one conditional UPDATE and holds it by renewing a
/// lease; a job whose lease ran out (its node died) is claimed again by any node.
/// </summary>
public sealed class PrepareJobs(Database db, TimeProvider clock, IOptions<MediaOptions> options) : IDisposable
{
    public const string Kind = "prepare";

    private readonly ConcurrentDictionary<long, TaskCompletionSource> _waiters = new();
    private readonly SemaphoreSlim _wake = new(0);

    public void Dispose() => _wake.Dispose();

    private long Now => clock.GetUtcNow().ToUnixTimeMilliseconds();

    /// <summary>Signalled when a job is queued on this node, so the worker starts at once.</summary>
    public SemaphoreSlim Wake => _wake;

    /// <summary>The couple's active job, or a new queued one.</summary>
    public async Task<long> EnqueueAsync(long coupleId, CancellationToken ct = default)
    {
        for (var attempt = 0; ; attempt++)
        {
            try
            {
                var id = await db.WriteAsync(
                    async connection =>
                    {
                        var active = await connection.ExecuteScalarAsync<long?>(
                            "SELECT id FROM jobs WHERE couple_id = @coupleId AND kind = @Kind AND state IN ('queued', 'running')", new { coupleId, Kind });
                        return active ?? await connection.ExecuteScalarAsync<long>(
                            "INSERT INTO jobs (kind, couple_id, state, progress, created_at, updated_at) VALUES (@Kind, @coupleId, 'queued', 0, @now, @now) RETURNING id",
                            new { coupleId, Kind, now = Now });
                    },
                    ct);
                _wake.Release();
                return id;
            }
            catch (System.Data.Common.DbException) when (attempt < 3)
            {
                // Another node queued the same couple between our look and our insert: the unique index refused
                // ours; the next look finds theirs.
            }
        }
    }

    public async Task<JobStatus?> GetAsync(long id, CancellationToken ct = default)
    {
        await using var connection = await db.OpenAsync(ct);
        return await connection.QuerySingleOrDefaultAsync<JobStatus>(
            "SELECT id, couple_id, state, progress, error FROM jobs WHERE id = @id", new { id });
    }

    /// <summary>Waits until the job is done or failed: woken at once by this node's worker, and looking again every second for other nodes'.</summary>
    public async Task<JobStatus> WaitAsync(long id, CancellationToken ct)
    {
        while (true)
        {
            var signal = _waiters.GetOrAdd(id, _ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
            var status = await GetAsync(id, ct) ?? throw new InvalidOperationException($"job {id} vanished");
            if (status.Finished)
            {
                return status;
            }

            await Task.WhenAny(signal.Task, Task.Delay(TimeSpan.FromSeconds(1), ct));
            ct.ThrowIfCancellationRequested();
        }
    }

    /// <summary>Claims the oldest queued job, or a running one whose lease ran out.</summary>
    public Task<JobStatus?> ClaimAsync(CancellationToken ct) =>
        db.WriteAsync(
            connection => connection.QuerySingleOrDefaultAsync<JobStatus>(
                """
                UPDATE jobs SET state = 'running', owner = @node, lease_until = @lease, updated_at = @now
                WHERE id = (SELECT id FROM jobs WHERE kind = @Kind AND (state = 'queued' OR (state = 'running' AND lease_until < @now)) ORDER BY id LIMIT 1)
                  AND (state = 'queued' OR (state = 'running' AND lease_until < @now))
                RETURNING id, couple_id, state, progress, error
                """,
                new { node = options.Value.NodeName, lease = Now + (long)options.Value.JobLease.TotalMilliseconds, now = Now, Kind }),
            ct);

    /// <summary>Records progress and extends the lease; false when this node no longer owns the job.</summary>
    public async Task<bool> RenewAsync(long id, int progress, CancellationToken ct)
    {
        var rows = await db.WriteAsync(
            connection => connection.ExecuteAsync(
                "UPDATE jobs SET progress = @progress, lease_until = @lease, updated_at = @now WHERE id = @id AND owner = @node AND state = 'running'",
                new { id, progress, node = options.Value.NodeName, lease = Now + (long)options.Value.JobLease.TotalMilliseconds, now = Now }),
            ct);
        return rows == 1;
    }

    /// <summary>Marks the job failed with a message for the client.</summary>
    public async Task FailAsync(long id, string error, CancellationToken ct)
    {
        await db.WriteAsync(
            connection => connection.ExecuteAsync(
                "UPDATE jobs SET state = 'failed', error = @error, updated_at = @now WHERE id = @id AND owner = @node",
                new { id, error = error.Length > 1000 ? error[..1000] : error, node = options.Value.NodeName, now = Now }),
            ct);
        Notify(id);
    }

    /// <summary>
    /// Stores the mixed video as the couple's VIDEO file and marks the job done, in one transaction, only while this
    /// node still owns the job and the couple has no video yet: so a job taken over by another node, or a couple
    /// mixed meanwhile, never gets a second output. False means the file was not recorded and should be deleted.
    /// </summary>
    public async Task<bool> CompleteAsync(long id, long coupleId, string path, long size, uint crc, long startAt, long stopAt, CancellationToken ct)
    {
        var stored = await db.WriteAsync(
            async connection =>
            {
                await using var tx = await connection.BeginTransactionAsync(ct);
                var owned = await connection.ExecuteScalarAsync<long>(
                    "SELECT COUNT(*) FROM jobs WHERE id = @id AND owner = @node AND state = 'running'", new { id, node = NodeName }, tx);
                var mixed = await CallWriter.HasFileOfTypeAsync(connection, tx, coupleId, MediaType.Video);
                if (owned == 0)
                {
                    return false;
                }

                if (!mixed)
                {
                    await CallWriter.AddPreparedVideoAsync(connection, tx, coupleId, path, size, crc, startAt, stopAt);
                }

                await connection.ExecuteAsync(
                    "UPDATE jobs SET state = 'done', progress = 100, updated_at = @now WHERE id = @id", new { id, now = Now }, tx);
                await tx.CommitAsync(ct);
                return !mixed;
            },
            ct);
        Notify(id);
        return stored;
    }

    /// <summary>Gives a job back to the queue (this node is shutting down).</summary>
    public Task RequeueAsync(long id) =>
        db.WriteAsync(
            connection => connection.ExecuteAsync(
                "UPDATE jobs SET state = 'queued', owner = NULL, lease_until = NULL, updated_at = @now WHERE id = @id AND owner = @node AND state = 'running'",
                new { id, node = NodeName, now = Now }));

    public void Notify(long id)
    {
        if (_waiters.TryRemove(id, out var signal))
        {
            signal.TrySetResult();
        }
    }

    public string NodeName => options.Value.NodeName;
}
