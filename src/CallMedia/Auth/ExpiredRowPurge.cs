using CallMedia.Data;
using CallMedia.Hosting;
using Dapper;
using Microsoft.Extensions.Options;

namespace CallMedia.Auth;

/// <summary>
/// Every <c>Purge:Interval</c> (5 minutes) deletes what can never be used again: sessions past their idle or absolute
/// expiry or ended, tokens past their expiry and range lease (and those of sessions that are gone), and forgotten
/// sign-in failure counts. The audit is kept: its records name users, addresses and couples as text and reference
/// no session or token row, so its hash chain does not change.
/// </summary>
public sealed partial class ExpiredRowPurge(Database db, AuthCache cache, TimeProvider clock, LoginThrottle throttle, IOptions<SessionOptions> sessions, IConfiguration configuration, ILogger<ExpiredRowPurge> logger)
    : BackgroundService
{
    public async Task<int> PurgeOnceAsync(CancellationToken ct = default)
    {
        var now = clock.GetUtcNow().ToUnixTimeMilliseconds();
        var idleBefore = now - (long)sessions.Value.IdleTimeout.TotalMilliseconds;
        var createdBefore = now - (long)sessions.Value.MaxLifetime.TotalMilliseconds;
        var purged = await db.WriteAsync(
            async connection =>
            {
                await using var tx = await connection.BeginTransactionAsync(ct);
                var n = await connection.ExecuteAsync(
                    "DELETE FROM sessions WHERE ended_at IS NOT NULL OR last_seen_at < @idleBefore OR created_at < @createdBefore",
                    new { idleBefore, createdBefore },
                    tx);
                n += await connection.ExecuteAsync(
                    """
                    DELETE FROM tokens WHERE (expires_at <= @now AND (lease_until IS NULL OR lease_until <= @now))
                        OR (redeemed_at IS NOT NULL AND (lease_until IS NULL OR lease_until <= @now))
                        OR NOT EXISTS (SELECT 1 FROM sessions s WHERE s.id_hash = tokens.session_hash)
                    """,
                    new { now },
                    tx);
                await tx.CommitAsync(ct);
                cache.Changed();
                return n;
            },
            ct);
        return purged + await throttle.PurgeAsync(ct);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var interval = configuration.GetValue("Purge:Interval", TimeSpan.FromMinutes(5));
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(interval, clock, stoppingToken);
                var purged = await PurgeOnceAsync(stoppingToken);
                if (purged > 0)
                {
                    LogPurged(logger, purged);
                }
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (System.Data.Common.DbException ex)
            {
                // The database is away; the next round tries again.
                LogFailed(logger, ex.Message);
            }
        }
    }

    [LoggerMessage(EventId = 40, Level = LogLevel.Debug, Message = "Purged {Rows} expired session, token and sign-in failure rows")]
    private static partial void LogPurged(ILogger logger, int rows);

    [LoggerMessage(EventId = 41, Level = LogLevel.Warning, Message = "Purging expired rows failed: {Reason}")]
    private static partial void LogFailed(ILogger logger, string reason);
}

public static class ExpiredRowPurgeRegistration
{
    public static IServiceCollection AddExpiredRowPurge(this IServiceCollection services)
    {
        services.AddSingleton<ExpiredRowPurge>();
        services.AddHostedService(sp => sp.GetRequiredService<ExpiredRowPurge>());
        return services;
    }
}
