using CallMedia.Storage;

namespace CallMedia.Delivery;

/// <summary>
/// Runs a media result and, when an encrypted file fails authentication on the way (altered or cut on disk), logs
/// it, writes an audit record and lets the failure abort the transfer: the client gets a broken response, never
/// bytes that did not authenticate.
/// </summary>
public sealed partial class TamperGuard(IResult inner, Func<MediaTamperedException, Task> audit) : IResult
{
    public async Task ExecuteAsync(HttpContext httpContext)
    {
        try
        {
            await inner.ExecuteAsync(httpContext);
        }
        catch (MediaTamperedException ex)
        {
            LogTampered(httpContext.RequestServices.GetRequiredService<ILogger<TamperGuard>>(), ex.Message);
            await audit(ex);
            throw;
        }
    }

    [LoggerMessage(EventId = 60, Level = LogLevel.Error, Message = "Transfer aborted: {Reason}")]
    private static partial void LogTampered(ILogger logger, string reason);
}
