using CallMedia.Data;

namespace CallMedia.Auth;

/// <summary>
/// On PostgreSQL, hears other nodes' and processes' changes to who may do what (<c>NOTIFY callmedia_auth</c>, sent by
/// the triggers of <see cref="AuthVersion"/> at commit) and tells <see cref="AuthCache"/> at once, so they usually
/// take effect here within milliseconds instead of the poll interval. While the listening connection is down the poll
/// is the bound; each reconnect counts as a change, since notifications may have been missed.
/// </summary>
public sealed partial class AuthChangeListener(Database db, AuthCache cache, ILogger<AuthChangeListener> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (db.Kind != DbKind.Postgres)
        {
            return;
        }

        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await AuthVersion.ListenAsync(db, cache.Changed, TimeSpan.FromSeconds(30), stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                cache.Changed();
                LogListenFailed(logger, ex);
                try
                {
                    await Task.Delay(TimeSpan.FromSeconds(1), stoppingToken);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Listening for access changes failed; polling until it is back")]
    private static partial void LogListenFailed(ILogger logger, Exception ex);
}
