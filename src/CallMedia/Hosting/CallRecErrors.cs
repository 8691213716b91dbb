namespace CallMedia.Hosting;

/// <summary>
/// The last line of defence: an unexpected exception becomes a short error in the CallREC framing, never a stack
/// trace; one after the response started aborts the connection (the client sees a broken transfer) and is logged
/// here, never left to the server, which would log every client that hangs up mid-body as an application failure.
/// </summary>
public static partial class CallRecErrors
{
    public static IApplicationBuilder UseCallRecErrors(this IApplicationBuilder app) =>
        app.Use(async (context, next) =>
        {
            try
            {
                await next(context);
            }
            catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
            {
                // The client went away; nothing to answer.
            }
            catch (Exception ex) when (context.Response.HasStarted)
            {
                // Mid-body nothing can be answered any more: cut the connection, so the client sees a broken transfer
                // and not a short one that looks complete. A client that hung up (the transport can say so before the
                // request is marked aborted) or a server stopping is no failure of ours; anything else is.
                context.Abort();
                if (ex is OperationCanceledException && context.RequestServices.GetRequiredService<IHostApplicationLifetime>().ApplicationStopping.IsCancellationRequested)
                {
                    LogCutByShutdown(Logger(context), context.Request.Path);
                }
                else if (ex is not ClientGoneException)
                {
                    LogBrokenTransfer(Logger(context), ex, context.Request.Path);
                }
            }
            catch (BadHttpRequestException ex) when (!context.Response.HasStarted)
            {
                await CallRecResults.Error(ex.StatusCode, ErrorNumbers.BadRequest, "The request is malformed.").ExecuteAsync(context);
            }
            catch (IOException ex) when (!context.Response.HasStarted && FromServerFraming(ex))
            {
                // Kestrel reports some broken framing (a chunk size that overflows, say) as a plain IOException.
                context.Response.Clear();
                await CallRecResults.Error(StatusCodes.Status400BadRequest, ErrorNumbers.BadRequest, "The request is malformed.").ExecuteAsync(context);
            }
            catch (System.Data.Common.DbException ex) when (!context.Response.HasStarted && (ex.IsTransient || ex is Npgsql.NpgsqlException { InnerException: System.Net.Sockets.SocketException or IOException or TimeoutException }))
            {
                // The database is away (restarting, failing over, unreachable): say so, and let the client retry.
                LogDatabaseAway(Logger(context), ex.Message);
                context.Response.Clear();
                context.Response.Headers.RetryAfter = "5";
                context.RequestServices.GetService<CallMediaMetrics>()?.DatabaseError();
                await CallRecResults.Error(StatusCodes.Status503ServiceUnavailable, ErrorNumbers.DatabaseUnavailable, "The database is unavailable; retry shortly.").ExecuteAsync(context);
            }
            catch (Exception ex) when (!context.Response.HasStarted)
            {
                LogUnhandled(Logger(context), ex, context.Request.Path);
                context.Response.Clear();
                await CallRecResults.Error(StatusCodes.Status500InternalServerError, 1, "Internal error.").ExecuteAsync(context);
            }
        });

    /// <summary>
    /// Routing's own answer under <c>/callrec</c> to a method no endpoint there takes (405, with its <c>Allow</c>
    /// header) gets the error framing of every other CallRec error (API.md), not an empty body.
    /// </summary>
    public static IApplicationBuilder UseCallRecStatusPages(this IApplicationBuilder app) =>
        app.UseWhen(
            c => c.Request.Path.StartsWithSegments("/callrec", StringComparison.OrdinalIgnoreCase),
            branch => branch.UseStatusCodePages(async pages =>
            {
                var context = pages.HttpContext;
                if (context.Response.StatusCode == StatusCodes.Status405MethodNotAllowed)
                {
                    var allow = context.Response.Headers.Allow.ToString();
                    var message = allow.Length > 0 ? $"Use {allow}." : "This method is not allowed here.";
                    await CallRecResults.Error(StatusCodes.Status405MethodNotAllowed, ErrorNumbers.MethodNotAllowed, message).ExecuteAsync(context);
                }
            }));

    private static ILogger Logger(HttpContext context) =>
        context.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger("CallMedia.Errors");

    /// <summary>Thrown by the server while it decoded the request body: the client's fault, not ours.</summary>
    public static bool FromServerFraming(IOException ex) =>
        ex.TargetSite?.DeclaringType?.FullName?.StartsWith("Microsoft.AspNetCore.Server.Kestrel.", StringComparison.Ordinal) == true;

    [LoggerMessage(EventId = 2, Level = LogLevel.Warning, Message = "Database unavailable: {Reason}")]
    private static partial void LogDatabaseAway(ILogger logger, string reason);

    [LoggerMessage(EventId = 4, Level = LogLevel.Information, Message = "Transfer cut off by the server stopping for {Path}")]
    private static partial void LogCutByShutdown(ILogger logger, PathString path);

    [LoggerMessage(EventId = 3, Level = LogLevel.Error, Message = "Transfer broken off after the response started for {Path}")]
    private static partial void LogBrokenTransfer(ILogger logger, Exception ex, PathString path);

    [LoggerMessage(EventId = 1, Level = LogLevel.Error, Message = "Unhandled error for {Path}")]
    private static partial void LogUnhandled(ILogger logger, Exception ex, PathString path);
}
