using System.Diagnostics;

namespace CallMedia.Hosting;

/// <summary>
/// One log line per request: method, path (after <c>;jsessionid=</c> was taken off it), status and time. Never the
/// query string or cookies, which carry tokens and session ids. A path is shown escaped (no line breaks of its own) and
/// cut after <see cref="PathShown"/> characters: a request line may be 256 KiB long, and a client sending such lines
/// must not write as much into the log.
/// </summary>
public static partial class RequestLog
{
    /// <summary>How much of a request's path its line shows at most.</summary>
    public const int PathShown = 1_000;

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
            var target = Shown(context.Request.Path, context.Features.Get<Microsoft.AspNetCore.Http.Features.IHttpRequestFeature>()?.RawTarget);
            LogRequest(logger, context.Request.Method, target, context.Response.StatusCode, Stopwatch.GetElapsedTime(started).TotalMilliseconds, context.ClientAddress());
        }
    }

    /// <summary>
    /// What a request's line shows of its target: the path (<see cref="Shown(PathString)"/>), or, for a request without
    /// one, <c>*</c> when that was its target (<c>OPTIONS *</c>, which asks about the server as a whole) and
    /// <c>(no path)</c> otherwise; never a raw target, which may carry a query.
    /// </summary>
    public static string Shown(PathString path, string? rawTarget) =>
        path.HasValue ? Shown(path) : rawTarget == "*" ? "*" : "(no path)";

    /// <summary>The path as the line shows it: escaped, and cut after <see cref="PathShown"/> characters.</summary>
    public static string Shown(PathString path)
    {
        var escaped = path.ToUriComponent();
        return escaped.Length <= PathShown ? escaped : $"{escaped.AsSpan(0, PathShown)}... ({escaped.Length - PathShown} characters more)";
    }

    [LoggerMessage(EventId = 10, Level = LogLevel.Information, Message = "{Method} {Path} answered {Status} in {Milliseconds:0.0} ms to {Client}")]
    private static partial void LogRequest(ILogger logger, string method, string path, int status, double milliseconds, string client);
}
