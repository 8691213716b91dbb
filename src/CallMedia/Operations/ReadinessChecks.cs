using CallMedia.Data;
using CallMedia.Hosting;
using CallMedia.Media;
using CallMedia.Storage;
using Dapper;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;

namespace CallMedia.Operations;

/// <summary>The database answers a trivial query.</summary>
internal sealed class DatabaseReadiness(Database db) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        try
        {
            await using var connection = await db.OpenAsync(cancellationToken);
            await connection.ExecuteScalarAsync<long>(new CommandDefinition("SELECT 1", cancellationToken: cancellationToken));
            return HealthCheckResult.Healthy();
        }
        catch (Exception ex) when (ex is System.Data.Common.DbException or InvalidOperationException or TimeoutException or IOException)
        {
            // The description goes to the caller: the exception type only, never a message that may name hosts or users.
            return HealthCheckResult.Unhealthy($"database unreachable ({ex.GetType().Name})");
        }
    }
}

/// <summary>A file can be created and deleted in the media folder.</summary>
internal sealed class MediaFolderReadiness(MediaRoot media) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var probe = Path.Combine(media.Root, $".ready-{Environment.ProcessId}-{Guid.NewGuid():N}");
        try
        {
            Directory.CreateDirectory(media.Root);
            await File.WriteAllBytesAsync(probe, [1], cancellationToken);
            File.Delete(probe);
            return HealthCheckResult.Healthy();
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return HealthCheckResult.Unhealthy($"media folder not writable ({ex.GetType().Name})");
        }
    }
}

/// <summary>ffmpeg and ffprobe start and print their version.</summary>
internal sealed class FfmpegReadiness(IOptions<MediaOptions> options) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        foreach (var tool in new[] { options.Value.Ffmpeg, options.Value.Ffprobe })
        {
            if (!await RunsAsync(tool, cancellationToken))
            {
                return HealthCheckResult.Unhealthy($"{Path.GetFileName(tool)} does not run");
            }
        }

        return HealthCheckResult.Healthy();
    }

    private static async Task<bool> RunsAsync(string tool, CancellationToken ct)
    {
        try
        {
            using var process = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo(tool, ["-version"])
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
            });
            if (process is null)
            {
                return false;
            }

            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
            // Generous: on a loaded machine starting ffmpeg alone can take seconds, and a slow start is not a broken tool.
            timeout.CancelAfter(TimeSpan.FromSeconds(15));
            var drain = Task.WhenAll(process.StandardOutput.ReadToEndAsync(timeout.Token), process.StandardError.ReadToEndAsync(timeout.Token));
            await process.WaitForExitAsync(timeout.Token);
            await drain;
            return process.ExitCode == 0;
        }
        catch (Exception ex) when (ex is System.ComponentModel.Win32Exception or OperationCanceledException or InvalidOperationException)
        {
            return false;
        }
    }
}
