using Microsoft.Extensions.Options;

namespace CallMedia.Retention;

/// <summary>
/// The purge inside <c>serve</c>, every <see cref="RetentionOptions.Interval"/>. Every node runs this loop; the lease
/// lets one of them purge at a time, and a node that finds it taken waits for the next round.
/// </summary>
public sealed partial class RetentionSchedule(RetentionPurge purge, TimeProvider clock, IOptions<RetentionOptions> options, ILogger<RetentionSchedule> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var interval = options.Value.Interval;
        if (interval <= TimeSpan.Zero)
        {
            return;
        }

        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(interval, clock, stoppingToken);
                var report = await purge.RunAsync(dryRun: false, "schedule", "server", ct: stoppingToken);
                if (report.Calls.Count > 0)
                {
                    LogPurged(logger, report.Calls.Count, report.Files, report.Bytes);
                }
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (RetentionBusyException ex)
            {
                LogBusy(logger, ex.Message);
            }
            catch (Exception ex) when (ex is System.Data.Common.DbException or InvalidOperationException or IOException)
            {
                // The database is away, or the lease was lost: the next round tries again.
                LogFailed(logger, ex.Message);
            }
        }
    }

    [LoggerMessage(EventId = 71, Level = LogLevel.Information, Message = "Retention purge: {Calls} calls, {Files} files, {Bytes} bytes freed")]
    private static partial void LogPurged(ILogger logger, int calls, int files, long bytes);

    [LoggerMessage(EventId = 72, Level = LogLevel.Debug, Message = "Retention purge skipped: {Reason}")]
    private static partial void LogBusy(ILogger logger, string reason);

    [LoggerMessage(EventId = 73, Level = LogLevel.Warning, Message = "Retention purge failed: {Reason}")]
    private static partial void LogFailed(ILogger logger, string reason);
}

public static class RetentionRegistration
{
    /// <summary>Policies, holds and the purge (the schedule runs only in the server: <see cref="AddRetentionSchedule"/>).</summary>
    public static IServiceCollection AddRetention(this IServiceCollection services, IConfiguration configuration)
    {
        Hosting.OptionsRegistration.AddValidatedOptions<RetentionOptions>(services, configuration, RetentionOptions.Section);
        services.AddSingleton<RetentionStore>();
        services.AddSingleton<RetentionPurge>();
        return services;
    }

    public static IServiceCollection AddRetentionSchedule(this IServiceCollection services) =>
        services.AddHostedService<RetentionSchedule>();
}
