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
        // With the line not wanted (the level is read per request: configuration may change it), the layer is a plain call.
        return app.Use((context, next) => logger.IsEnabled(LogLevel.Information) ? LoggedAsync(logger, context, next) : next(context));
    }

    private static async Task LoggedAsync(ILogger logger, HttpContext context, RequestDelegate next)
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
    }

    [LoggerMessage(EventId = 10, Level = LogLevel.Information, Message = "{Method} {Path} answered {Status} in {Milliseconds:0.0} ms to {Client}")]
    private static partial void LogRequest(ILogger logger, string method, PathString path, int status, double milliseconds, string client);
}
