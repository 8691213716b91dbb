using System.Data.Common;

namespace CallMedia.Api;

/// <summary>
/// Filters every /api/v1 endpoint runs through: bad input and failures become problem details (never the CallREC
/// XML, never a stack trace), and a POST must be JSON.
/// </summary>
public static partial class ApiGuards
{
    public static async ValueTask<object?> ProblemsAsync(EndpointFilterInvocationContext invocation, EndpointFilterDelegate next)
    {
        var context = invocation.HttpContext;
        try
        {
            return await next(invocation);
        }
        catch (ApiInputException ex)
        {
            return ApiProblems.BadRequest(ex.Message, ex.Field);
        }
        catch (BadHttpRequestException ex) when (!context.Response.HasStarted)
        {
            // The server refused the body while it was read: too large (413), or broken framing (400).
            return ex.StatusCode == StatusCodes.Status413PayloadTooLarge
                ? ApiProblems.Problem(ex.StatusCode, "Payload too large", "The request body is too large.")
                : ApiProblems.Problem(ex.StatusCode, "Bad request", "The request is malformed.");
        }
        catch (IOException ex) when (!context.Response.HasStarted && Hosting.CallRecErrors.FromServerFraming(ex))
        {
            return ApiProblems.Problem(StatusCodes.Status400BadRequest, "Bad request", "The request is malformed.");
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
            throw;
        }
        catch (DbException ex) when (ex.IsTransient || ex is Npgsql.NpgsqlException { InnerException: System.Net.Sockets.SocketException or IOException or TimeoutException })
        {
            LogDatabaseAway(Logger(context), ex.Message);
            context.Response.Headers.RetryAfter = "5";
            return ApiProblems.Problem(StatusCodes.Status503ServiceUnavailable, "Service unavailable", "The database is unavailable; retry shortly.");
        }
        catch (Exception ex) when (!context.Response.HasStarted && Delivery.MediaStoreErrors.IsStoreAway(ex))
        {
            LogStoreAway(Logger(context), ex.Message);
            context.Response.Headers.RetryAfter = "5";
            return ApiProblems.Problem(StatusCodes.Status503ServiceUnavailable, "Service unavailable", "The media store is unavailable; retry shortly.");
        }
        catch (Exception ex) when (!context.Response.HasStarted)
        {
            LogUnhandled(Logger(context), ex, context.Request.Path);
            return ApiProblems.Problem(StatusCodes.Status500InternalServerError, "Internal error", "Internal error.");
        }
    }

    /// <summary>
    /// Every query parameter of /api/v1 takes one value: one given twice (<c>?number=1001&amp;number=1002</c>) is 400
    /// naming it, where it would otherwise be read as both values joined by a comma and match nothing.
    /// </summary>
    public static ValueTask<object?> SingleValuedQueryAsync(EndpointFilterInvocationContext invocation, EndpointFilterDelegate next)
    {
        foreach (var (name, values) in invocation.HttpContext.Request.Query)
        {
            if (values.Count > 1)
            {
                var named = ApiInput.Clip(name);
                return ValueTask.FromResult<object?>(ApiProblems.BadRequest($"{named} is given more than once.", named));
            }
        }

        return next(invocation);
    }

    /// <summary>
    /// A POST must say <c>Content-Type: application/json</c>, which a cross-site form cannot send without a CORS
    /// preflight (and CallMedia allows none). Cross-site requests themselves are refused before routing, for every
    /// path alike (<see cref="Hosting.BrowserGuards"/>).
    /// </summary>
    public static async ValueTask<object?> JsonBodyAsync(EndpointFilterInvocationContext invocation, EndpointFilterDelegate next)
    {
        var request = invocation.HttpContext.Request;
        if (HttpMethods.IsPost(request.Method) && !IsJson(request.ContentType))
        {
            return ApiProblems.Problem(StatusCodes.Status415UnsupportedMediaType, "Unsupported media type", "Send Content-Type: application/json.");
        }

        return await next(invocation);
    }

    private static bool IsJson(string? contentType) =>
        contentType is not null && contentType.Split(';')[0].Trim().Equals("application/json", StringComparison.OrdinalIgnoreCase);

    private static ILogger Logger(HttpContext context) =>
        context.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger("CallMedia.Api");

    [LoggerMessage(EventId = 20, Level = LogLevel.Warning, Message = "Database unavailable: {Reason}")]
    private static partial void LogDatabaseAway(ILogger logger, string reason);

    [LoggerMessage(EventId = 22, Level = LogLevel.Warning, Message = "Media store unavailable: {Reason}")]
    private static partial void LogStoreAway(ILogger logger, string reason);

    [LoggerMessage(EventId = 21, Level = LogLevel.Error, Message = "Unhandled error for {Path}")]
    private static partial void LogUnhandled(ILogger logger, Exception ex, PathString path);
}
