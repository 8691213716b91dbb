using System.Globalization;
using CallMedia.Calls;
using CallMedia.Hosting;
using CallMedia.Storage;
using Microsoft.Extensions.Options;

namespace CallMedia.Media;

/// <summary>Runs one claimed prepare job: mix, check, hash, rename into place, record — or fail with a clear message.</summary>
public sealed partial class PrepareRunner(PrepareJobs jobs, CallStore calls, VideoMixer mixer, Ffmpeg ffmpeg, IMediaStorage storage, IOptions<MediaOptions> options, CallMediaMetrics metrics, ILogger<PrepareRunner> logger)
{
    public async Task RunAsync(JobStatus job, CancellationToken stopping)
    {
        using var lost = CancellationTokenSource.CreateLinkedTokenSource(stopping);
        var progress = 0;
        var renewals = RenewWhileRunningAsync(job.Id, () => Volatile.Read(ref progress), lost);
        var temp = storage.NewTempPath("mp4");
        string? final = null;
        try
        {
            var couple = (await calls.GetCouplesAsync([job.CoupleId], lost.Token)).GetValueOrDefault(job.CoupleId)
                ?? throw new FfmpegException("the call no longer exists");
            var files = (await calls.GetFilesAsync([job.CoupleId], lost.Token))[job.CoupleId].ToList();
            var capture = files.FirstOrDefault(f => f.Type == MediaType.Recd) ?? throw new FfmpegException("the call has no screen capture");
            var audio = files.Where(f => f.Type == MediaType.Audio).OrderBy(f => f.StartAt).ThenBy(f => f.Id).ToList();
            var log = ffmpeg.LogPath($"job-{job.Id}.log");
            LogStarted(logger, job.Id, job.CoupleId, options.Value.NodeName);
            await mixer.MixAsync(capture, audio, temp, log, p => Volatile.Write(ref progress, p), lost.Token);

            var relative = Path.Combine(
                couple.Start.UtcDateTime.ToString("yyyy/MM/dd", CultureInfo.InvariantCulture),
                $"{couple.Id}-video-job{job.Id}.mp4");
            // Stored (encrypted when on) with size and CRC-32 of the plaintext, before the row points at it.
            final = relative;
            var (size, crc) = await storage.CommitAsync(temp, relative, lost.Token);
            var span = VideoMixer.Span(capture, audio);
            if (await jobs.CompleteAsync(job.Id, job.CoupleId, relative, size, crc, span.StartAt, span.StopAt, CancellationToken.None))
            {
                LogDone(logger, job.Id, size);
                final = null;
            }
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
            await jobs.RequeueAsync(job.Id);
        }
        catch (OperationCanceledException)
        {
            LogLost(logger, job.Id);
        }
        catch (System.Data.Common.DbException ex)
        {
            // The database went away mid-job: the output is not recorded (deleted below); when the lease runs out
            // the job is claimed again and redone.
            LogFailed(logger, ex, job.Id);
        }
        catch (Exception ex) when (ex is FfmpegException or IOException or InvalidDataException)
        {
            LogFailed(logger, ex, job.Id);
            metrics.JobFailed(JobKind.Prepare);
            await jobs.FailAsync(job.Id, "preparing the video failed: " + ex.Message, CancellationToken.None);
        }
        finally
        {
            await lost.CancelAsync();
            await renewals;
            File.Delete(temp);
            if (final is not null)
            {
                storage.Delete(final); // written, but not recorded: nobody may see it
            }
        }
    }

    /// <summary>Extends the lease (and records progress) a few times per lease; a refused renewal means another node took the job over.</summary>
    private async Task RenewWhileRunningAsync(long id, Func<int> progress, CancellationTokenSource lost)
    {
        var every = options.Value.JobLease / 3;
        try
        {
            while (!lost.IsCancellationRequested)
            {
                await Task.Delay(every, lost.Token);
                try
                {
                    if (!await jobs.RenewAsync(id, progress(), lost.Token))
                    {
                        await lost.CancelAsync();
                    }
                }
                catch (System.Data.Common.DbException)
                {
                    // The database is away: keep working; if the lease runs out meanwhile, the final step finds the
                    // job owned by another node and discards this output.
                }
            }
        }
        catch (OperationCanceledException)
        {
            // The job ended or was lost.
        }
    }

    [LoggerMessage(EventId = 20, Level = LogLevel.Information, Message = "Prepare job {JobId} for couple {CoupleId} started on {Node}")]
    private static partial void LogStarted(ILogger logger, long jobId, long coupleId, string node);

    [LoggerMessage(EventId = 21, Level = LogLevel.Information, Message = "Prepare job {JobId} stored a video of {Size} bytes")]
    private static partial void LogDone(ILogger logger, long jobId, long size);

    [LoggerMessage(EventId = 22, Level = LogLevel.Warning, Message = "Prepare job {JobId} failed")]
    private static partial void LogFailed(ILogger logger, Exception ex, long jobId);

    [LoggerMessage(EventId = 23, Level = LogLevel.Warning, Message = "Prepare job {JobId} was taken over by another node; its output is discarded")]
    private static partial void LogLost(ILogger logger, long jobId);
}

/// <summary>Claims prepare jobs and runs them, up to <see cref="MediaOptions.MaxConcurrentPrepares"/> at once.</summary>
public sealed class PrepareWorker(PrepareJobs jobs, PrepareRunner runner, IOptions<MediaOptions> options, CallMediaMetrics metrics) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var slots = new SemaphoreSlim(options.Value.MaxConcurrentPrepares);
        var running = new List<Task>();
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                await slots.WaitAsync(stoppingToken);
                JobStatus? job;
                try
                {
                    job = await jobs.ClaimAsync(stoppingToken);
                }
                catch (System.Data.Common.DbException)
                {
                    // The database is away; look again shortly. Nothing was claimed.
                    slots.Release();
                    await Task.Delay(TimeSpan.FromSeconds(2), stoppingToken);
                    continue;
                }

                if (job is null)
                {
                    slots.Release();
                    // Woken at once by a job queued here; other nodes' jobs and expired leases are found within seconds.
                    await jobs.Wake.WaitAsync(TimeSpan.FromSeconds(2), stoppingToken);
                    continue;
                }

                running.RemoveAll(t => t.IsCompleted);
                running.Add(RunAsync(job, slots, stoppingToken));
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Stopping: running jobs give themselves back to the queue.
        }

        await Task.WhenAll(running);
    }

    private async Task RunAsync(JobStatus job, SemaphoreSlim slots, CancellationToken stopping)
    {
        await Task.Yield();
        metrics.JobStarted(JobKind.Prepare, wasQueued: false);
        try
        {
            await runner.RunAsync(job, stopping);
        }
        finally
        {
            metrics.JobFinished(JobKind.Prepare, failed: false);
            slots.Release();
        }
    }
}
