namespace CallMedia.Hosting;

/// <summary>
/// The last line of defence: an unexpected exception becomes a short error in the CallREC framing, never a stack
/// trace; one after the response started aborts the connection (the client sees a broken transfer).
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
            catch (BadHttpRequestException ex) when (!context.Response.HasStarted)
            {
                await CallRecResults.Error(ex.StatusCode, ErrorNumbers.BadRequest, "The request is malformed.").ExecuteAsync(context);
            }
            catch (Exception ex) when (!context.Response.HasStarted)
            {
                var logger = context.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger("CallMedia.Errors");
                LogUnhandled(logger, ex, context.Request.Path);
                context.Response.Clear();
                await CallRecResults.Error(StatusCodes.Status500InternalServerError, 1, "Internal error.").ExecuteAsync(context);
            }
        });

    [LoggerMessage(EventId = 1, Level = LogLevel.Error, Message = "Unhandled error for {Path}")]
    private static partial void LogUnhandled(ILogger logger, Exception ex, PathString path);
}
