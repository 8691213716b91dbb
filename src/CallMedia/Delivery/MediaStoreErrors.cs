using CallMedia.Hosting;
using CallMedia.Storage;

namespace CallMedia.Delivery;

/// <summary>
/// The object store away (<c>Storage:Kind=s3</c>) wherever a request meets it — planning, the call list, a rendition,
/// the response's own look at the object — is a 503 with Retry-After the client retries, like the database away;
/// once the response has started, the transfer aborts (and is audited incomplete) as any broken transfer does.
/// </summary>
public static partial class MediaStoreErrors
{
    /// <summary>Whether a failure is the object store being away (for the JSON API's own problem details).</summary>
    public static bool IsStoreAway(Exception ex) => ex is MediaStoreUnavailableException;

    public static IApplicationBuilder UseMediaStoreErrors(this IApplicationBuilder app) =>
        app.Use(async (context, next) =>
        {
            try
            {
                await next(context);
            }
            catch (MediaStoreUnavailableException ex) when (!context.Response.HasStarted)
            {
                var logger = context.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger("CallMedia.Errors");
                LogStoreAway(logger, ex.Message);
                context.Response.Clear();
                context.Response.Headers.RetryAfter = "5";
                await CallRecResults.Error(StatusCodes.Status503ServiceUnavailable, ErrorNumbers.Busy, "The media store is unavailable; retry shortly.").ExecuteAsync(context);
            }
        });

    [LoggerMessage(EventId = 3, Level = LogLevel.Warning, Message = "Media store unavailable: {Reason}")]
    private static partial void LogStoreAway(ILogger logger, string reason);
}
