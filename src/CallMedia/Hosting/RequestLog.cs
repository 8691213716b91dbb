using System.Diagnostics;

namespace CallMedia.Hosting;

/// <summary>
/// One log line per request: method, path (after <c>;jsessionid=</c> was taken off it), status and time. Never the
/// query string or cookies, which carry tokens and session ids.
/// </summary>
public static partial class RequestLog
{
    public static IApplicationBuilder UseRequestLog(this IApplicationBuilder app)
    {
        var logger = app.ApplicationServices.GetRequiredService<ILoggerFactory>().CreateLogger("CallMedia.Requests");
        return app.Use(async (context, next) =>
        {
            var started = Stopwatch.GetTimestamp();
            try
            {
                await next(context);
            }
            finally
            {
                LogRequest(logger, context.Request.Method, context.Request.Path, context.Response.StatusCode, Stopwatch.GetElapsedTime(started).TotalMilliseconds, context.ClientAddress());
            }
        });
    }

    [LoggerMessage(EventId = 10, Level = LogLevel.Information, Message = "{Method} {Path} answered {Status} in {Milliseconds:0.0} ms to {Client}")]
    private static partial void LogRequest(ILogger logger, string method, PathString path, int status, double milliseconds, string client);
}
